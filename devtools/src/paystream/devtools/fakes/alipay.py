"""A local Alipay open platform gateway for tests and the demo.

It speaks Alipay's wire format with the real RSA2 signatures (paystream.shared.providers.alipay):
every request must carry the merchant's valid signature (refused as Alipay does, code 40002 /
sub_code isv.invalid-signature, unsigned), and every answer is signed with "Alipay's" private key
in the real shape `{"<method>_response": {...}, "sign": "..."}`. Trades live in memory.

Gateway (`/gateway.do`, GET or form POST, parameters in the query or the body):
- alipay.trade.precreate: opens (or, for the same out_trade_no and amount, repeats) a trade;
  answers `qr_code` = `https://qr.alipay.com/<token>`.
- alipay.trade.page.pay (GET, the buyer's browser): opens the trade, answers an HTML cashier page.
- alipay.trade.refund: synchronous; out_request_no makes it idempotent (a repeat answers
  fund_change N); more than what is left to refund is ACQ.REFUND_AMT_NOT_EQUAL_TOTAL; a full
  refund closes the trade (TRADE_CLOSED), as Alipay does.
- alipay.trade.fastpay.refund.query, alipay.trade.close, alipay.trade.query.
- alipay.data.dataservice.bill.downloadurl.query (bill_type `trade`, a bill_date yyyy-MM-dd):
  `bill_download_url` to the day's bill (`bills.py`: a zip of GBK CSV files); a day not begun
  in Beijing is isp.bill_not_exist. Unlike Alipay, which publishes a day's bill the next morning,
  the fake serves the day so far, so tests need not wait for tomorrow.

Test / demo controls (not Alipay's; JSON):
- `POST /_fake/trades/{out_trade_no}/pay`: a buyer pays; the signed TRADE_SUCCESS notification is
  POSTed to the trade's notify_url; answers what the notify_url answered. Body
  `{"deliver": false}`: paid, but the notification is lost (only a query finds the payment).
- `/_fake/faults`: a gateway call's answer late or lost after it took effect (`faults.py`).
- `POST /_fake/trades/{out_trade_no}/finish`: TRADE_FINISHED (the refund period is over).
- `POST /_fake/trades/{out_trade_no}/expire`: an unpaid trade times out; TRADE_CLOSED notified.
- `POST /_fake/trades/{out_trade_no}/refunds/{out_request_no}/notify`: the refund notification.
- `GET /_fake/trades/{out_trade_no}`: the trade as the fake holds it.
- `/_fake/bill/edits`: lines of the bill left out, changed or added (`bills.py`).

`build_notification` (pure) makes a signed notification form for tests that post forged,
tampered or replayed ones themselves.

`python -m paystream.devtools.fakes.alipay --port N`, keys from PAYSTREAM_FAKE_ALIPAY_PRIVATE_KEY
(Alipay's private key) and PAYSTREAM_FAKE_ALIPAY_MERCHANT_PUBLIC_KEY (the merchant application's
public key), PAYSTREAM_FAKE_ALIPAY_APP_ID; PEM text, or `@<path>` to a PEM file.
"""

from __future__ import annotations

import argparse
import html
import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from paystream.devtools.fakes import run
from paystream.devtools.fakes.bills import BillEdits, BillLine, alipay_bill_zip, on_day
from paystream.devtools.fakes.faults import Faults
from paystream.devtools.fakes.signing import sign_notification, signed_response, verify_request
from paystream.shared.money import Money
from paystream.shared.providers import alipay as ali
from paystream.shared.providers.keys import load_private_key, load_public_key

DEFAULT_SELLER_ID = "2088102177846880"
DEFAULT_BUYER_ID = "2088102177846881"
DEFAULT_BUYER_LOGON_ID = "csq***@sandbox.com"

_INVALID_ARGUMENTS = "Invalid Arguments"
BILL_URL_QUERY = "alipay.data.dataservice.bill.downloadurl.query"
_METHODS = frozenset(
    {
        ali.PRECREATE,
        ali.PAGE_PAY,
        ali.REFUND,
        ali.REFUND_QUERY,
        ali.CLOSE,
        ali.QUERY,
        BILL_URL_QUERY,
    }
)
_BUSINESS_FAILED = "Business Failed"


# --- notifications (pure) -------------------------------------------------------------------


def build_notification(
    *,
    alipay_private_key: str | rsa.RSAPrivateKey,
    app_id: str,
    out_trade_no: str,
    trade_no: str,
    trade_status: str,
    total_amount: str,
    passback_params: str | None,
    notify_id: str | None = None,
    notify_time: datetime | None = None,
    gmt_create: datetime | None = None,
    gmt_payment: datetime | None = None,
    gmt_close: datetime | None = None,
    receipt_amount: str | None = None,
    out_biz_no: str | None = None,
    refund_fee: str | None = None,
    gmt_refund: datetime | None = None,
    seller_id: str = DEFAULT_SELLER_ID,
    buyer_id: str = DEFAULT_BUYER_ID,
    subject: str = "paystream credits",
    sign_type: str = ali.SIGN_TYPE,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The form Alipay POSTs to notify_url about a trade, signed with Alipay's private key.

    No I/O and no clock unless a time is left out (then it is now). `sign_type` is written as
    given, the signature is always RSA2 (`sign_type` is outside the signed string, which is what
    makes a downgrade to "RSA" something only the receiver's check can stop).
    """
    key = (
        load_private_key(alipay_private_key)
        if isinstance(alipay_private_key, str)
        else alipay_private_key
    )
    now = notify_time or datetime.now(UTC)
    paid = trade_status in (ali.TRADE_SUCCESS, ali.TRADE_FINISHED) or gmt_payment is not None
    params: dict[str, str] = {
        "notify_time": ali.format_time(now),
        "notify_type": "trade_status_sync",
        "notify_id": notify_id or uuid.uuid4().hex,
        "charset": ali.CHARSET,
        "version": ali.VERSION,
        "sign_type": sign_type,
        "app_id": app_id,
        "auth_app_id": app_id,
        "trade_no": trade_no,
        "out_trade_no": out_trade_no,
        "buyer_id": buyer_id,
        "buyer_logon_id": DEFAULT_BUYER_LOGON_ID,
        "seller_id": seller_id,
        "trade_status": trade_status,
        "total_amount": total_amount,
        "subject": subject,
        "gmt_create": ali.format_time(gmt_create or now),
    }
    if paid:
        params["receipt_amount"] = receipt_amount or total_amount
        params["invoice_amount"] = receipt_amount or total_amount
        params["buyer_pay_amount"] = receipt_amount or total_amount
        params["point_amount"] = "0.00"
        params["gmt_payment"] = ali.format_time(gmt_payment or now)
        params["fund_bill_list"] = orjson.dumps(
            [{"amount": receipt_amount or total_amount, "fundChannel": "ALIPAYACCOUNT"}]
        ).decode()
    if gmt_close is not None:
        params["gmt_close"] = ali.format_time(gmt_close)
    if out_biz_no is not None:
        params["out_biz_no"] = out_biz_no
    if refund_fee is not None:
        params["refund_fee"] = refund_fee
    if gmt_refund is not None:
        # Alipay writes gmt_refund with milliseconds.
        at = gmt_refund.astimezone(ali.CHINA_TZ)
        params["gmt_refund"] = at.strftime(ali.TIME_FORMAT) + f".{at.microsecond // 1000:03d}"
    if passback_params:
        params["passback_params"] = passback_params
    params.update(extra or {})
    signed = sign_notification({k: v for k, v in params.items() if k != "sign_type"}, key)
    signed["sign_type"] = sign_type
    return signed


def encode_form(params: Mapping[str, str]) -> bytes:
    """The notification body as Alipay sends it (application/x-www-form-urlencoded, UTF-8)."""
    return urlencode(list(params.items())).encode("utf-8")


# --- the gateway ----------------------------------------------------------------------------


@dataclass
class FakeRefund:
    out_request_no: str
    amount: Money
    at: datetime


@dataclass
class FakeTrade:
    out_trade_no: str
    trade_no: str
    total: Money
    subject: str
    notify_url: str | None
    return_url: str | None
    passback_params: str | None
    method: str
    status: str = ali.WAIT_BUYER_PAY
    qr_code: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    paid_at: datetime | None = None
    closed_at: datetime | None = None
    time_expire: str | None = None
    refunds: dict[str, FakeRefund] = field(default_factory=dict)

    @property
    def refunded(self) -> Money:
        total = Money.zero(ali.CURRENCY)
        for r in self.refunds.values():
            total = total + r.amount
        return total

    def view(self) -> dict[str, Any]:
        return {
            "out_trade_no": self.out_trade_no,
            "trade_no": self.trade_no,
            "status": self.status,
            "total_amount": self.total.format(),
            "refunded": self.refunded.format(),
            "method": self.method,
            "notify_url": self.notify_url,
            "passback_params": self.passback_params,
            "qr_code": self.qr_code,
            "time_expire": self.time_expire,
            "refunds": {k: r.amount.format() for k, r in self.refunds.items()},
        }


class _Refusal(Exception):
    def __init__(self, code: str, msg: str, sub_code: str, sub_msg: str, *, signed: bool) -> None:
        super().__init__(sub_code)
        self.content = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}
        self.signed = signed


def _gateway_refusal(sub_code: str, sub_msg: str) -> _Refusal:
    # Gateway-level refusals (the request itself is wrong) come back unsigned.
    return _Refusal("40002", _INVALID_ARGUMENTS, sub_code, sub_msg, signed=False)


def _business_refusal(sub_code: str, sub_msg: str) -> _Refusal:
    return _Refusal("40004", _BUSINESS_FAILED, sub_code, sub_msg, signed=True)


class FakeAlipay:
    """The gateway's state and behaviour; `create_app` puts HTTP around it."""

    def __init__(
        self,
        *,
        alipay_private_key: str,
        merchant_public_key: str,
        app_id: str,
        seller_id: str = DEFAULT_SELLER_ID,
        notify_timeout_s: float = 10.0,
    ) -> None:
        self.private_key = load_private_key(alipay_private_key)
        self.merchant_public_key = load_public_key(merchant_public_key)
        self.app_id = app_id
        self.seller_id = seller_id
        self.trades: dict[str, FakeTrade] = {}
        self.notify_timeout_s = notify_timeout_s
        self._trade_seq = 0
        self.bill_edits = BillEdits()
        self.bill_files: dict[str, date] = {}

    # -- request checks ------------------------------------------------------------------

    def check(self, params: Mapping[str, str]) -> str:
        """The method of a correctly signed request, or the _Refusal Alipay would answer."""
        for name in ("app_id", "method", "charset", "sign_type", "timestamp", "version"):
            if not params.get(name):
                raise _gateway_refusal(f"isv.missing-{name.replace('_', '-')}", f"缺少{name}参数")
        if not params.get("sign"):
            raise _gateway_refusal("isv.missing-signature", "缺少签名参数")
        if params["app_id"] != self.app_id:
            raise _gateway_refusal("isv.invalid-app-id", "无效的AppID参数")
        if params["sign_type"] != ali.SIGN_TYPE:
            raise _gateway_refusal("isv.invalid-signature-type", "无效的签名类型")
        try:
            ali.parse_time(params["timestamp"])
        except ValueError:
            raise _gateway_refusal("isv.invalid-timestamp", "非法的时间戳参数") from None
        if not verify_request(params, self.merchant_public_key):
            raise _gateway_refusal(
                ali.INVALID_SIGNATURE,
                "验签出错, 建议检查签名字符串或签名私钥与应用公钥是否匹配, "
                f"网关生成的验签字符串为: {ali.request_signing_string(params)}",
            )
        return params["method"]

    @staticmethod
    def biz(params: Mapping[str, str]) -> dict[str, Any]:
        try:
            biz = orjson.loads(params.get("biz_content") or "{}")
        except orjson.JSONDecodeError:
            raise _gateway_refusal("isv.invalid-biz-content", "biz_content不是JSON") from None
        if not isinstance(biz, dict):
            raise _gateway_refusal("isv.invalid-biz-content", "biz_content不是JSON对象")
        return biz

    def respond(self, method: str, content: Mapping[str, Any], *, signed: bool = True) -> Response:
        body = signed_response(method, content, self.private_key if signed else None)
        return Response(body, media_type="application/json;charset=utf-8")

    # -- bills ---------------------------------------------------------------------------

    def bill_lines(self) -> list[BillLine]:
        lines: list[BillLine] = []
        for t in self.trades.values():
            if t.paid_at is not None:
                lines.append(
                    BillLine("payment", t.out_trade_no, t.total.minor, t.paid_at, t.trade_no)
                )
            lines.extend(
                BillLine(
                    "refund",
                    r.out_request_no,
                    r.amount.minor,
                    r.at,
                    t.trade_no,
                    trade_reference=t.out_trade_no,
                )
                for r in t.refunds.values()
            )
        return lines

    def bill_url(self, biz: dict[str, Any], base_url: str) -> dict[str, Any]:
        if biz.get("bill_type") != "trade":
            raise _business_refusal("isv.invalid-bill-type", "账单类型不支持")
        try:
            day = date.fromisoformat(str(biz.get("bill_date", "")))
        except ValueError:
            raise _business_refusal("isv.invalid-bill-date", "账单日期格式不正确") from None
        if day > datetime.now(ali.CHINA_TZ).date():
            raise _business_refusal("isp.bill_not_exist", "账单不存在")
        token = secrets.token_urlsafe(16)
        self.bill_files[token] = day
        return {
            "code": ali.SUCCESS_CODE,
            "msg": "Success",
            "bill_download_url": f"{base_url}/downloadBillFile.resource?bizType=trade"
            f"&userId={self.seller_id}&fileType=csv.zip&bizDates={day:%Y%m%d}&token={token}",
        }

    def bill_file(self, token: str) -> bytes | None:
        day = self.bill_files.get(token)
        if day is None:
            return None
        lines = on_day(self.bill_edits.apply(self.bill_lines()), day, ali.CHINA_TZ)
        return alipay_bill_zip(lines, pid=self.seller_id, day=day, now=datetime.now(UTC))

    # -- trades --------------------------------------------------------------------------

    def _next_trade_no(self) -> str:
        # Alipay's trade numbers are unique for ever, not per process: a restarted fake must not
        # hand out a number an earlier run used (payment event ids are derived from it).
        self._trade_seq += 1
        day = datetime.now(ali.CHINA_TZ).strftime("%Y%m%d")
        return f"{day}22{secrets.randbelow(10**12):012d}{self._trade_seq % 10**6:06d}"

    def _trade(self, biz: Mapping[str, Any]) -> FakeTrade:
        out_trade_no = biz.get("out_trade_no")
        trade = self.trades.get(out_trade_no) if isinstance(out_trade_no, str) else None
        if trade is None:
            raise _business_refusal(ali.TRADE_NOT_EXIST, "交易不存在")
        return trade

    def open_trade(self, method: str, params: Mapping[str, str], biz: dict[str, Any]) -> FakeTrade:
        out_trade_no = biz.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not ali.OUT_TRADE_NO.fullmatch(out_trade_no):
            raise _business_refusal("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no")
        try:
            total = ali.parse_amount(str(biz.get("total_amount", "")))
        except ValueError:
            raise _business_refusal("ACQ.INVALID_PARAMETER", "参数无效: total_amount") from None
        if not total.is_positive():
            raise _business_refusal("ACQ.INVALID_PARAMETER", "参数无效: total_amount")
        subject = biz.get("subject")
        if not isinstance(subject, str) or not subject:
            raise _business_refusal("ACQ.INVALID_PARAMETER", "参数无效: subject")
        existing = self.trades.get(out_trade_no)
        if existing is not None:
            if existing.status == ali.TRADE_CLOSED:
                raise _business_refusal("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if existing.status in (ali.TRADE_SUCCESS, ali.TRADE_FINISHED):
                raise _business_refusal("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if existing.total != total:
                raise _business_refusal("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            return existing  # the same trade asked for again: Alipay answers the same
        trade = FakeTrade(
            out_trade_no=out_trade_no,
            trade_no=self._next_trade_no(),
            total=total,
            subject=subject,
            notify_url=params.get("notify_url") or None,
            return_url=params.get("return_url") or None,
            passback_params=biz.get("passback_params") or None,
            method=method,
            time_expire=biz.get("time_expire") or None,
        )
        if method == ali.PRECREATE:
            trade.qr_code = f"https://qr.alipay.com/{secrets.token_hex(12)}"
        self.trades[out_trade_no] = trade
        return trade

    def precreate(self, params: Mapping[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.open_trade(ali.PRECREATE, params, biz)
        return {
            "code": ali.SUCCESS_CODE,
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "qr_code": trade.qr_code,
        }

    def refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._trade(biz)
        try:
            amount = ali.parse_amount(str(biz.get("refund_amount", "")))
        except ValueError:
            raise _business_refusal("ACQ.INVALID_PARAMETER", "参数无效: refund_amount") from None
        if not amount.is_positive():
            raise _business_refusal("ACQ.INVALID_PARAMETER", "参数无效: refund_amount")
        # Without out_request_no Alipay takes the request as a full refund keyed by the trade.
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        previous = trade.refunds.get(request_no)
        if previous is not None:
            if previous.amount != amount:
                raise _business_refusal("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            return self._refund_answer(trade, fund_change=False)
        if trade.status not in (ali.TRADE_SUCCESS, ali.TRADE_CLOSED) or trade.paid_at is None:
            raise _business_refusal(ali.TRADE_STATUS_ERROR, "交易状态不合法")
        if trade.refunded + amount > trade.total:
            raise _business_refusal(ali.REFUND_AMT_NOT_EQUAL_TOTAL, "退款金额超限")
        trade.refunds[request_no] = FakeRefund(request_no, amount, datetime.now(UTC))
        if trade.refunded == trade.total:
            trade.status = ali.TRADE_CLOSED
            trade.closed_at = datetime.now(UTC)
        return self._refund_answer(trade, fund_change=True)

    def _refund_answer(self, trade: FakeTrade, *, fund_change: bool) -> dict[str, Any]:
        return {
            "code": ali.SUCCESS_CODE,
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": DEFAULT_BUYER_LOGON_ID,
            "fund_change": "Y" if fund_change else "N",
            "refund_fee": trade.refunded.format(),  # cumulative, as Alipay answers
            "gmt_refund_pay": ali.format_time(datetime.now(UTC)),
            "buyer_user_id": DEFAULT_BUYER_ID,
        }

    def refund_query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._trade(biz)
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        refund = trade.refunds.get(request_no)
        content: dict[str, Any] = {
            "code": ali.SUCCESS_CODE,
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "out_request_no": request_no,
        }
        if refund is not None:
            # An unknown refund is answered 10000 without these, as Alipay does.
            content["total_amount"] = trade.total.format()
            content["refund_amount"] = refund.amount.format()
            content["refund_status"] = "REFUND_SUCCESS"
        return content

    def close(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._trade(biz)
        if trade.status != ali.WAIT_BUYER_PAY:
            raise _business_refusal(ali.TRADE_STATUS_ERROR, "交易状态不合法")
        trade.status = ali.TRADE_CLOSED
        trade.closed_at = datetime.now(UTC)
        return {
            "code": ali.SUCCESS_CODE,
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
        }

    def query(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._trade(biz)
        content: dict[str, Any] = {
            "code": ali.SUCCESS_CODE,
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": trade.total.format(),
            "buyer_logon_id": DEFAULT_BUYER_LOGON_ID,
        }
        if trade.paid_at is not None:
            content["send_pay_date"] = ali.format_time(trade.paid_at)
            content["receipt_amount"] = trade.total.format()
            content["buyer_pay_amount"] = trade.total.format()
            content["buyer_user_id"] = DEFAULT_BUYER_ID
        return content

    # -- notifications -------------------------------------------------------------------

    def notification(self, trade: FakeTrade, **kw: Any) -> dict[str, str]:
        return build_notification(
            alipay_private_key=self.private_key,
            app_id=self.app_id,
            out_trade_no=trade.out_trade_no,
            trade_no=trade.trade_no,
            trade_status=trade.status,
            total_amount=trade.total.format(),
            passback_params=trade.passback_params,
            gmt_create=trade.created_at,
            gmt_payment=trade.paid_at,
            gmt_close=trade.closed_at,
            seller_id=self.seller_id,
            subject=trade.subject,
            **kw,
        )

    async def notify(self, trade: FakeTrade, form: Mapping[str, str]) -> dict[str, Any]:
        """POST a notification to the trade's notify_url; what it answered (Alipay reads the
        body only: `success` stops its retries)."""
        if not trade.notify_url:
            return {"notified": False, "reason": "the trade has no notify_url"}
        async with httpx.AsyncClient(timeout=self.notify_timeout_s) as http:
            try:
                r = await http.post(
                    trade.notify_url,
                    content=encode_form(form),
                    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                )
            except httpx.TransportError as exc:
                return {"notified": False, "reason": f"{type(exc).__name__}: {exc}"}
        return {
            "notified": True,
            "notify_status": r.status_code,
            "notify_body": r.text,
            "acknowledged": r.text.strip() == "success",
        }


# --- HTTP -----------------------------------------------------------------------------------


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        # Parsed here rather than with request.form() (which needs python-multipart): the
        # gateway takes application/x-www-form-urlencoded only, in the charset of the request.
        body = (await request.body()).decode("utf-8", "replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    return params


def create_app(
    alipay_private_key_pem: str,
    merchant_public_key_pem: str,
    app_id: str,
    *,
    seller_id: str = DEFAULT_SELLER_ID,
    notify_timeout_s: float = 10.0,
) -> Starlette:
    """The fake gateway: `alipay_private_key_pem` signs its answers and notifications,
    `merchant_public_key_pem` verifies the merchant application's requests."""
    fake = FakeAlipay(
        alipay_private_key=alipay_private_key_pem,
        merchant_public_key=merchant_public_key_pem,
        app_id=app_id,
        seller_id=seller_id,
        notify_timeout_s=notify_timeout_s,
    )

    faults = Faults()

    async def gateway(request: Request) -> Response:
        params = await _params(request)
        method = params.get("method", "")
        try:
            fake.check(params)
            biz = fake.biz(params)
            if method == ali.PAGE_PAY:
                trade = fake.open_trade(ali.PAGE_PAY, params, biz)
                return _cashier_page(trade)
            handlers = {
                ali.PRECREATE: lambda: fake.precreate(params, biz),
                ali.REFUND: lambda: fake.refund(biz),
                ali.REFUND_QUERY: lambda: fake.refund_query(biz),
                ali.CLOSE: lambda: fake.close(biz),
                ali.QUERY: lambda: fake.query(biz),
                BILL_URL_QUERY: lambda: fake.bill_url(biz, str(request.base_url).rstrip("/")),
            }
            handler = handlers.get(method)
            if handler is None:
                raise _gateway_refusal("isv.invalid-method", "不存在的方法名")
            return await faults.answer(method, fake.respond(method, handler()))
        except _Refusal as refusal:
            if method == ali.PAGE_PAY:
                return _error_page(refusal)
            # A request without a method Alipay knows is answered in `error_response`.
            known = method in _METHODS
            return fake.respond(
                method if known else "error", refusal.content, signed=refusal.signed
            )

    def trade_of(request: Request) -> FakeTrade | None:
        return fake.trades.get(request.path_params["out_trade_no"])

    def not_found(request: Request) -> JSONResponse:
        no = request.path_params["out_trade_no"]
        return JSONResponse({"error": f"no trade {no}"}, status_code=404)

    async def pay(request: Request) -> Response:
        trade = trade_of(request)
        if trade is None:
            return not_found(request)
        if trade.status != ali.WAIT_BUYER_PAY:
            return JSONResponse({"error": f"trade is {trade.status}"}, status_code=409)
        body = await request.body()
        options = orjson.loads(body) if body else {}
        trade.status = ali.TRADE_SUCCESS
        trade.paid_at = datetime.now(UTC)
        if isinstance(options, dict) and options.get("deliver", True) is False:
            return JSONResponse({"trade": trade.view(), "notified": False, "reason": "deliver"})
        form = fake.notification(trade)
        return JSONResponse({"trade": trade.view(), **await fake.notify(trade, form)})

    async def finish(request: Request) -> Response:
        trade = trade_of(request)
        if trade is None:
            return not_found(request)
        if trade.status != ali.TRADE_SUCCESS:
            return JSONResponse({"error": f"trade is {trade.status}"}, status_code=409)
        trade.status = ali.TRADE_FINISHED
        return JSONResponse(
            {"trade": trade.view(), **await fake.notify(trade, fake.notification(trade))}
        )

    async def expire(request: Request) -> Response:
        trade = trade_of(request)
        if trade is None:
            return not_found(request)
        if trade.status != ali.WAIT_BUYER_PAY:
            return JSONResponse({"error": f"trade is {trade.status}"}, status_code=409)
        trade.status = ali.TRADE_CLOSED
        trade.closed_at = datetime.now(UTC)
        return JSONResponse(
            {"trade": trade.view(), **await fake.notify(trade, fake.notification(trade))}
        )

    async def refund_notify(request: Request) -> Response:
        trade = trade_of(request)
        if trade is None:
            return not_found(request)
        refund = trade.refunds.get(request.path_params["out_request_no"])
        if refund is None:
            return JSONResponse({"error": "no such refund"}, status_code=404)
        # What Alipay sends after a refund: the trade's status (TRADE_CLOSED once fully
        # refunded), out_biz_no = the refund's out_request_no, refund_fee = refunded so far.
        cumulative = Money.zero(ali.CURRENCY)
        for r in trade.refunds.values():
            if r.at <= refund.at:
                cumulative = cumulative + r.amount
        form = fake.notification(
            trade,
            out_biz_no=refund.out_request_no,
            refund_fee=cumulative.format(),
            gmt_refund=refund.at,
        )
        return JSONResponse({"trade": trade.view(), **await fake.notify(trade, form)})

    async def show(request: Request) -> Response:
        trade = trade_of(request)
        return not_found(request) if trade is None else JSONResponse(trade.view())

    async def bill_file(request: Request) -> Response:
        body = fake.bill_file(request.query_params.get("token", ""))
        if body is None:
            return Response("账单不存在", status_code=404)
        return Response(body, media_type="application/oct-stream")

    app = Starlette(
        routes=[
            Route("/gateway.do", gateway, methods=["GET", "POST"]),
            Route("/downloadBillFile.resource", bill_file, methods=["GET"]),
            *fake.bill_edits.routes(),
            Route("/_fake/trades/{out_trade_no}", show, methods=["GET"]),
            Route("/_fake/trades/{out_trade_no}/pay", pay, methods=["POST"]),
            Route("/_fake/trades/{out_trade_no}/finish", finish, methods=["POST"]),
            Route("/_fake/trades/{out_trade_no}/expire", expire, methods=["POST"]),
            Route(
                "/_fake/trades/{out_trade_no}/refunds/{out_request_no}/notify",
                refund_notify,
                methods=["POST"],
            ),
            *faults.routes(),
        ]
    )
    app.state.fake = fake
    app.state.faults = faults
    return app


def _cashier_page(trade: FakeTrade) -> HTMLResponse:
    e = html.escape
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>支付宝 - 网上支付</title></head>"
        f"<body data-out-trade-no='{e(trade.out_trade_no)}' data-status='{e(trade.status)}'>"
        f"<h1>{e(trade.subject)}</h1><p class='amount'>¥{e(trade.total.format())}</p>"
        f"<p>out_trade_no: {e(trade.out_trade_no)}</p>"
        f"<form method='post' action='/_fake/trades/{e(trade.out_trade_no)}/pay'>"
        "<button type='submit'>确认付款 (fake)</button></form></body></html>"
    )


def _error_page(refusal: _Refusal) -> HTMLResponse:
    e = html.escape
    c = refusal.content
    # Alipay shows its error page with 200; the codes are on the page.
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>支付宝 - 错误</title></head>"
        f"<body data-code='{e(c['code'])}' data-sub-code='{e(c['sub_code'])}'>"
        f"<h1>{e(c['msg'])}</h1><p>{e(c['sub_code'])}: {e(c['sub_msg'])}</p></body></html>"
    )


# --- python -m ------------------------------------------------------------------------------

ENV_PRIVATE_KEY = "PAYSTREAM_FAKE_ALIPAY_PRIVATE_KEY"
ENV_MERCHANT_PUBLIC_KEY = "PAYSTREAM_FAKE_ALIPAY_MERCHANT_PUBLIC_KEY"
ENV_APP_ID = "PAYSTREAM_FAKE_ALIPAY_APP_ID"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument("--seller-id", default=DEFAULT_SELLER_ID)
    args = parser.parse_args(argv)
    missing = [
        n for n in (ENV_PRIVATE_KEY, ENV_MERCHANT_PUBLIC_KEY, ENV_APP_ID) if not os.environ.get(n)
    ]
    if missing:
        parser.error(f"set {', '.join(missing)}")
    app = create_app(
        os.environ[ENV_PRIVATE_KEY],
        os.environ[ENV_MERCHANT_PUBLIC_KEY],
        os.environ[ENV_APP_ID],
        seller_id=args.seller_id,
    )
    run(app, args.port)


if __name__ == "__main__":
    main()
