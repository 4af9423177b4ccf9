"""The settlement files the fakes serve, in each provider's documented layout, and the test switch
that makes a day's file disagree with paystream's books.

- Alipay: the `trade` bill of `alipay.data.dataservice.bill.downloadurl.query`, a zip of two
  GBK CSV files (`<pid>_<yyyymmdd>_业务明细.csv` and its `(汇总)` summary), `#` comment lines
  around the table, values padded with a tab as Alipay writes them.
- WeChat Pay: `GET /v3/bill/tradebill` (bill_type SUCCESS / REFUND / ALL): a UTF-8 CSV whose
  data fields start with a backtick, then a summary header and line.
- Stripe: balance transactions (`charge` / `refund`) with `fee` and the charge or refund as source.

A bill line is one money movement on the provider's day (Beijing time for Alipay and WeChat Pay,
UTC for Stripe). Fees are 0.6 % rounded half up to the fen, the standard rate of both Chinese
providers, and a refund returns its share; Stripe's are 2.9 % + 30, and a refund returns none.

    POST   /_fake/bill/edits  {"omit": [ref], "amounts": {ref: minor}, "extra": [line]}
    DELETE /_fake/bill/edits  forget them

`ref` is the merchant's number (out_trade_no, out_request_no / out_refund_no, or the Stripe
payment/refund id); an extra line is `{"kind", "reference", "amount_minor", "trade_reference"?,
"provider_id"?, "at"?}` (a movement paystream never heard of).
"""

# The providers write full-width punctuation in their files; it is their format, not a typo.
# ruff: noqa: RUF001
from __future__ import annotations

import csv
import io
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paystream.shared.providers.alipay import CHINA_TZ

Kind = Literal["payment", "refund"]
FEE_PER_MILLE = 6


def fee_of(amount_minor: int) -> int:
    return (amount_minor * FEE_PER_MILLE + 500) // 1000


@dataclass(frozen=True)
class BillLine:
    kind: Kind
    reference: str  # the merchant's number: out_trade_no, out_request_no / out_refund_no, id
    amount_minor: int  # positive: what moved
    at: datetime
    provider_id: str = ""  # the provider's trade number / refund id
    trade_reference: str = ""  # a refund's payment (out_trade_no; Stripe: the PaymentIntent)
    trade_provider_id: str = ""  # a refund's payment at the provider (WeChat Pay transaction_id)
    subject: str = "paystream credits"

    @classmethod
    def of(cls, doc: dict[str, Any], *, id_prefix: str) -> BillLine:
        """A line a test posts: `{"kind", "reference", "amount_minor", "at"?, "provider_id"?,
        "trade_reference"?}` (now, and a made-up provider id, when left out)."""
        return cls(
            kind=doc["kind"],
            reference=doc["reference"],
            amount_minor=int(doc["amount_minor"]),
            at=datetime.fromisoformat(doc["at"]) if doc.get("at") else datetime.now(UTC),
            provider_id=doc.get("provider_id") or f"{id_prefix}{secrets.token_hex(12)}",
            trade_reference=doc.get("trade_reference", ""),
        )

    @property
    def fee_minor(self) -> int:
        return fee_of(self.amount_minor)


@dataclass
class BillEdits:
    omit: set[str] = field(default_factory=set)
    amounts: dict[str, int] = field(default_factory=dict)
    extra: list[BillLine] = field(default_factory=list)

    def apply(self, lines: Iterable[BillLine]) -> list[BillLine]:
        out = [
            replace(line, amount_minor=self.amounts.get(line.reference, line.amount_minor))
            for line in lines
            if line.reference not in self.omit
        ]
        return out + self.extra

    def routes(self) -> list[Route]:
        async def edit(request: Request) -> Response:
            doc = orjson.loads(await request.body() or b"{}")
            self.omit.update(doc.get("omit", []))
            self.amounts.update({k: int(v) for k, v in doc.get("amounts", {}).items()})
            self.extra += [BillLine.of(x, id_prefix="X") for x in doc.get("extra", [])]
            return JSONResponse(self.view())

        async def reset(request: Request) -> Response:
            self.omit.clear()
            self.amounts.clear()
            self.extra.clear()
            return JSONResponse(self.view())

        return [
            Route("/_fake/bill/edits", edit, methods=["POST"]),
            Route("/_fake/bill/edits", reset, methods=["DELETE"]),
        ]

    def view(self) -> dict[str, Any]:
        return {"omit": sorted(self.omit), "amounts": self.amounts, "extra": len(self.extra)}


def on_day(lines: Iterable[BillLine], day: date, tz: tzinfo) -> list[BillLine]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = start + timedelta(days=1)
    return sorted((x for x in lines if start <= x.at < end), key=lambda x: x.at)


def _yuan(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


# --- Alipay ---------------------------------------------------------------------------------

# The header as the documentation prints it.
ALIPAY_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,"
    "终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
)
ALIPAY_COLUMNS = ALIPAY_HEADER.split(",")


def alipay_bill_zip(lines: list[BillLine], *, pid: str, day: date, now: datetime) -> bytes:
    """The zip Alipay's bill_download_url serves for a `trade` bill (GBK CSV inside)."""
    stamp = day.strftime("%Y%m%d")
    start = day.strftime("%Y年%m月%d日")
    end = (day + timedelta(days=1)).strftime("%Y年%m月%d日")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    out.write(f"#支付宝业务明细查询\r\n#账号：[{pid}0156]\r\n")
    out.write(f"#起始日期：[{start} 00:00:00]   终止日期：[{end} 00:00:00]\r\n")
    out.write(
        "#-----------------------------------------业务明细列表----------------------------\r\n"
    )
    w.writerow(ALIPAY_COLUMNS)
    trades = refunds = 0
    for x in lines:
        refund = x.kind == "refund"
        refunds += refund
        trades += not refund
        at = x.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
        amount = -x.amount_minor if refund else x.amount_minor
        fee = x.fee_minor if refund else -x.fee_minor  # deducted on a trade, returned on a refund
        row = [""] * len(ALIPAY_COLUMNS)
        row[0] = f"{x.provider_id}\t"
        row[1] = f"{x.trade_reference if refund else x.reference}\t"
        row[2] = "退款" if refund else "交易"
        row[3] = x.subject
        row[4] = row[5] = at
        row[10] = "csq***@sandbox.com"
        row[11] = _yuan(amount)
        row[12] = _yuan(amount)
        for i in (13, 14, 15, 16, 17, 19, 20, 23):
            row[i] = "0.00"
        row[21] = f"{x.reference}\t" if refund else ""
        row[22] = _yuan(fee)
        w.writerow(row)
    out.write(
        "#-----------------------------------------业务明细列表结束------------------------\r\n"
    )
    out.write(f"#交易合计：{trades}笔，退款合计：{refunds}笔\r\n")
    out.write(f"#导出时间：[{now.astimezone(CHINA_TZ).strftime('%Y年%m月%d日 %H:%M:%S')}]\r\n")
    summary = io.StringIO()
    summary.write(f"#支付宝业务汇总查询\r\n#账号：[{pid}0156]\r\n")
    summary.write(
        "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）\r\n"
    )
    net = sum(-x.amount_minor if x.kind == "refund" else x.amount_minor for x in lines)
    summary.write(f"合计,,{trades},{refunds},{_yuan(net)},{_yuan(net)}\r\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{pid}0156_{stamp}_业务明细.csv", out.getvalue().encode("gbk"))
        z.writestr(f"{pid}0156_{stamp}_业务明细(汇总).csv", summary.getvalue().encode("gbk"))
    return buf.getvalue()


# --- WeChat Pay -----------------------------------------------------------------------------

WECHATPAY_COLUMNS = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)


def _fee5(minor: int) -> str:
    # WeChat Pay writes fees with five decimals.
    return f"{_yuan(minor)}000"


def wechatpay_tradebill(lines: list[BillLine], *, mchid: str, appid: str) -> bytes:
    """The trade bill's CSV: a header, backtick-prefixed data rows, then the summary."""
    rows = [WECHATPAY_COLUMNS]
    settled = refunded = fees = 0
    for x in lines:
        refund = x.kind == "refund"
        at = x.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
        fee = -x.fee_minor if refund else x.fee_minor
        fees += fee
        values = [
            at, appid, mchid, "0", "",
            x.trade_provider_id if refund else x.provider_id,
            x.trade_reference if refund else x.reference,
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "NATIVE",
            "REFUND" if refund else "SUCCESS", "OTHERS", "CNY",
            _yuan(0 if refund else x.amount_minor), "0.00",
            x.provider_id if refund else "0", x.reference if refund else "0",
            _yuan(x.amount_minor if refund else 0), "0.00",
            "ORIGINAL" if refund else "", "SUCCESS" if refund else "",
            x.subject, "", _fee5(fee), "0.60%",
            _yuan(0 if refund else x.amount_minor), _yuan(x.amount_minor if refund else 0), "",
        ]  # fmt: skip
        settled += 0 if refund else x.amount_minor
        refunded += x.amount_minor if refund else 0
        rows.append(",".join(f"`{v}" for v in values))
    rows.append(
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    )
    summary = [
        str(len(lines)), _yuan(settled), _yuan(refunded), "0.00", _fee5(fees),
        _yuan(settled), _yuan(refunded),
    ]  # fmt: skip
    rows.append(",".join(f"`{v}" for v in summary))
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


# --- Stripe ---------------------------------------------------------------------------------


def stripe_balance_transaction(x: BillLine, *, currency: str) -> dict[str, Any]:
    refund = x.kind == "refund"
    amount = -x.amount_minor if refund else x.amount_minor
    # Stripe's rate: 2.9 % + 30 (refunds return no fee since 2021).
    fee = 0 if refund else (x.amount_minor * 29 + 500) // 1000 + 30
    source: dict[str, Any] = (
        {"id": x.reference, "object": "refund", "payment_intent": x.trade_reference}
        if refund
        else {"id": x.provider_id, "object": "charge", "payment_intent": x.reference}
    )
    return {
        "id": f"txn_{x.provider_id or x.reference}",
        "object": "balance_transaction",
        "amount": amount,
        "available_on": int(x.at.timestamp()) + 2 * 86400,
        "created": int(x.at.timestamp()),
        "currency": currency.lower(),
        "description": x.subject,
        "fee": fee,
        "fee_details": [{"amount": fee, "currency": currency.lower(), "type": "stripe_fee"}],
        "net": amount - fee,
        "reporting_category": x.kind if refund else "charge",
        "source": source,
        "status": "pending",
        "type": "refund" if refund else "charge",
    }
