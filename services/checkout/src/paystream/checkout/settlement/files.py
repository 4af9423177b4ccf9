"""The providers' settlement files read into `SettlementLine`s (pure, no I/O): Alipay's trade bill
(a zip of GBK CSV), WeChat Pay's trade bill (backtick-prefixed CSV) and Stripe's balance
transactions. Columns are found by their documented names, not positions, so a column the
provider adds later does not shift the others."""

# The providers' headers use full-width punctuation; they are matched as written.
# ruff: noqa: RUF001
from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from paystream.checkout.providers import ProviderError, SettlementLine
from paystream.shared.money import Money
from paystream.shared.providers.alipay import CHINA_TZ


class SettlementFileError(ProviderError):
    """The provider's file is not in the documented layout (nothing in it is believed)."""


def _cny(text: str, *, column: str) -> Money:
    """A yuan amount; WeChat Pay writes fees with five decimals, rounded half up to the fen as
    the provider settles them."""
    try:
        value = Decimal(text.strip() or "0").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise SettlementFileError(f"{column}: {text!r} is not an amount") from None
    return Money.parse(value, "CNY")


def _china_time(text: str, *, column: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)
    except ValueError:
        raise SettlementFileError(f"{column}: {text!r} is not a time") from None


def _rows(header: list[str], rows: Iterable[list[str]]) -> Iterable[dict[str, str]]:
    names = [h.strip() for h in header]
    for row in rows:
        if len(row) < len(names):
            raise SettlementFileError(f"a row has {len(row)} fields, the header {len(names)}")
        yield {n: v.strip() for n, v in zip(names, row, strict=False)}


def _need(row: Mapping[str, str], column: str) -> str:
    if column not in row:
        raise SettlementFileError(f"no column {column!r}")
    return row[column]


# --- Alipay ---------------------------------------------------------------------------------

ALIPAY_TRADE, ALIPAY_REFUND = "交易", "退款"


def alipay_bill(data: bytes) -> list[SettlementLine]:
    """The detail file (`..._业务明细.csv`, not its `(汇总)` summary) of a `trade` bill zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [n for n in z.namelist() if n.endswith("业务明细.csv")]
            if len(names) != 1:
                raise SettlementFileError(f"the bill zip holds {z.namelist()}, no detail file")
            text = z.read(names[0]).decode("gbk")
    except (zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise SettlementFileError(f"the Alipay bill is not a zip of GBK CSV: {exc}") from None
    table = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
    if not table:
        raise SettlementFileError("the Alipay bill has no header row")
    lines = []
    for row in _rows(table[0], table[1:]):
        kind = _need(row, "业务类型")
        if kind not in (ALIPAY_TRADE, ALIPAY_REFUND):
            continue  # other business types (e.g. 在线支付 of other products) are not ours
        signed = _cny(_need(row, "订单金额（元）"), column="订单金额")
        amount = Money(abs(signed.minor), signed.currency)
        # 服务费 is written as it moved the merchant's balance: negative when charged.
        charged = _cny(_need(row, "服务费（元）"), column="服务费")
        fee = Money(-charged.minor, charged.currency)
        at = _china_time(_need(row, "完成时间"), column="完成时间")
        trade = _need(row, "商户订单号")
        if kind == ALIPAY_TRADE:
            lines.append(
                SettlementLine("payment", trade, amount, fee, at, _need(row, "支付宝交易号"))
            )
        else:
            lines.append(
                SettlementLine(
                    "refund",
                    _need(row, "退款批次号/请求号"),
                    amount,
                    fee,
                    at,
                    _need(row, "支付宝交易号"),
                    trade_reference=trade,
                )
            )
    return lines


# --- WeChat Pay -----------------------------------------------------------------------------

WECHATPAY_SUMMARY = "总交易单数"


def check_sha1(data: bytes, expected: str) -> None:
    # WeChat Pay's download is not signed: the signed tradebill answer's hash vouches for it.
    got = hashlib.sha1(data).hexdigest()  # noqa: S324 - the hash WeChat Pay chose
    if got.lower() != expected.lower():
        raise SettlementFileError(f"the bill's SHA1 is {got}, the signed answer said {expected}")


def wechatpay_bill(data: bytes) -> list[SettlementLine]:
    """A trade bill (ALL / SUCCESS / REFUND): header, rows of backtick-prefixed fields, then the
    summary header and line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettlementFileError("the WeChat Pay bill is not UTF-8") from None
    table = list(csv.reader(io.StringIO(text)))
    if not table:
        raise SettlementFileError("the WeChat Pay bill is empty")
    body = []
    for r in table[1:]:
        if r and r[0].strip() == WECHATPAY_SUMMARY:
            break
        if r:
            body.append([v.strip().removeprefix("`") for v in r])
    lines = []
    for row in _rows(table[0], body):
        state = _need(row, "交易状态")
        at = _china_time(_need(row, "交易时间"), column="交易时间")
        fee = _cny(_need(row, "手续费"), column="手续费")
        if state == "REFUND":
            lines.append(
                SettlementLine(
                    "refund",
                    _need(row, "商户退款单号"),
                    _cny(_need(row, "退款金额"), column="退款金额"),
                    fee,
                    at,
                    _need(row, "微信退款单号"),
                    trade_reference=_need(row, "商户订单号"),
                )
            )
        elif state == "SUCCESS":
            lines.append(
                SettlementLine(
                    "payment",
                    _need(row, "商户订单号"),
                    _cny(_need(row, "应结订单金额"), column="应结订单金额"),
                    fee,
                    at,
                    _need(row, "微信订单号"),
                )
            )
    return lines


# --- Stripe ---------------------------------------------------------------------------------

_STRIPE_PAYMENTS = frozenset({"charge", "payment"})
_STRIPE_REFUNDS = frozenset({"refund", "payment_refund"})


def _source(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    source = doc.get("source")
    if isinstance(source, Mapping):
        return source
    # Not expanded: only the id.
    return {"id": source} if isinstance(source, str) else {}


def stripe_balance_transactions(docs: Iterable[Mapping[str, Any]]) -> list[SettlementLine]:
    """Balance transactions listed with `expand[]=data.source`: charges by their PaymentIntent,
    refunds by their re_ id. Payouts, transfers and Stripe's own fees are not sales: skipped."""
    lines = []
    for doc in docs:
        kind = doc.get("type")
        if kind not in _STRIPE_PAYMENTS | _STRIPE_REFUNDS:
            continue
        try:
            currency = str(doc["currency"]).upper()
            amount = Money(abs(int(doc["amount"])), currency)
            fee = Money(int(doc["fee"]), currency)
            at = datetime.fromtimestamp(int(doc["created"]), UTC)
        except (KeyError, TypeError, ValueError) as exc:
            raise SettlementFileError(f"balance transaction {doc.get('id')}: {exc!r}") from None
        source = _source(doc)
        pi = source.get("payment_intent")
        pi = pi.get("id") if isinstance(pi, Mapping) else pi
        txn = str(doc.get("id") or "")
        if kind in _STRIPE_PAYMENTS:
            ref = pi if isinstance(pi, str) and pi else str(source.get("id") or txn)
            lines.append(SettlementLine("payment", ref, amount, fee, at, txn))
        else:
            lines.append(
                SettlementLine(
                    "refund",
                    str(source.get("id") or txn),
                    amount,
                    fee,
                    at,
                    txn,
                    trade_reference=pi if isinstance(pi, str) else None,
                )
            )
    return lines
