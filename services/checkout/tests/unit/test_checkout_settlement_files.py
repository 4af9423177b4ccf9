"""The settlement files as the fakes write them (in each provider's documented layout) read back
exactly, and the matcher's outcomes: matched, amount differs, missing on either side."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest

from paystream.checkout.providers import SettlementLine
from paystream.checkout.settlement.domain import Booked, SettlementOutcome, match
from paystream.checkout.settlement.files import (
    SettlementFileError,
    alipay_bill,
    check_sha1,
    stripe_balance_transactions,
    wechatpay_bill,
)
from paystream.devtools.fakes.bills import (
    BillLine,
    alipay_bill_zip,
    stripe_balance_transaction,
    wechatpay_tradebill,
)
from paystream.shared.money import Money
from paystream.shared.providers.alipay import CHINA_TZ

AT = datetime(2026, 12, 1, 10, 30, tzinfo=CHINA_TZ)
LINES = [
    BillLine("payment", "ord1", 1100, AT, "2026120122000001"),
    BillLine("payment", "ord2", 999, AT + timedelta(hours=1), "2026120122000002"),
    BillLine(
        "refund",
        "ref1",
        300,
        AT + timedelta(hours=2),
        "50300001",
        trade_reference="ord1",
        trade_provider_id="42000001",
    ),
]


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def test_alipay_bill_zip_of_gbk_csv_reads_back_with_fees() -> None:
    data = alipay_bill_zip(LINES, pid="2088102177846880", day=date(2026, 12, 1), now=AT)
    got = alipay_bill(data)
    assert [(x.kind, x.reference, x.amount, x.fee, x.trade_reference) for x in got] == [
        ("payment", "ord1", cny(1100), cny(7), None),  # 0.6 % of 11.00 = 0.066 -> 0.07
        ("payment", "ord2", cny(999), cny(6), None),
        ("refund", "ref1", cny(300), cny(-2), "ord1"),  # a refund gives its fee back
    ]
    assert got[0].provider_id == "2026120122000001"  # the tab Alipay pads with is gone
    assert got[0].at == AT


def test_wechatpay_trade_bill_with_backticks_and_summary_reads_back() -> None:
    data = wechatpay_tradebill(LINES, mchid="1900000001", appid="wx1")
    assert data.count(b"`") > 50  # every data field, as WeChat Pay writes them
    got = wechatpay_bill(data)
    assert [(x.kind, x.reference, x.amount, x.fee, x.trade_reference) for x in got] == [
        ("payment", "ord1", cny(1100), cny(7), None),
        ("payment", "ord2", cny(999), cny(6), None),
        ("refund", "ref1", cny(300), cny(-2), "ord1"),
    ]
    check_sha1(data, hashlib.sha1(data).hexdigest())  # noqa: S324 - WeChat Pay's hash
    with pytest.raises(SettlementFileError):
        check_sha1(data + b" ", hashlib.sha1(data).hexdigest())  # noqa: S324


def test_stripe_balance_transactions_by_payment_intent_and_refund() -> None:
    at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    docs = [
        stripe_balance_transaction(BillLine("payment", "pi_1", 2000, at, "ch_1"), currency="usd"),
        stripe_balance_transaction(
            BillLine("refund", "re_1", 500, at, "re_1", trade_reference="pi_1"), currency="usd"
        ),
        {"id": "txn_po", "type": "payout", "amount": -1000, "currency": "usd", "fee": 0},
    ]
    got = stripe_balance_transactions(docs)
    assert [(x.kind, x.reference, x.amount.minor, x.fee.minor) for x in got] == [
        ("payment", "pi_1", 2000, 88),  # 2.9 % + 30
        ("refund", "re_1", 500, 0),
    ]


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04broken"], ids=["not-zip", "broken-zip"])
def test_an_unreadable_alipay_bill_is_refused(data: bytes) -> None:
    with pytest.raises(SettlementFileError):
        alipay_bill(data)


def test_match_reports_every_outcome() -> None:
    def line(ref: str, minor: int, kind: str = "payment") -> SettlementLine:
        return SettlementLine(kind, ref, cny(minor), cny(1), AT)  # type: ignore[arg-type]

    a = Booked("payment", ("ord1", "trade1"), "o1", None, cny(1100), AT)
    b = Booked("payment", ("ord2",), "o2", None, cny(999), AT)
    c = Booked("payment", ("ord3",), "o3", None, cny(500), AT)
    r = Booked("refund", ("ref1",), "o1", "r1", cny(300), AT)
    booked = {("payment", "ord1"): a, ("payment", "ord2"): b, ("refund", "ref1"): r}
    lines = [
        line("ord1", 1100),
        line("ord2", 998),
        line("stranger", 42),
        line("ref1", 300, "refund"),
        line("ord1", 1100),  # the provider settled it twice
    ]
    got = [(x.reference, x.outcome) for x in match("alipay", lines, booked, [a, b, c, r])]
    assert got == [
        ("ord1", SettlementOutcome.MATCHED),
        ("ord2", SettlementOutcome.AMOUNT_DIFFERS),
        ("stranger", SettlementOutcome.MISSING_IN_PAYSTREAM),
        ("ref1", SettlementOutcome.MATCHED),
        ("ord1", SettlementOutcome.MISSING_IN_PAYSTREAM),
        ("ord3", SettlementOutcome.MISSING_AT_PROVIDER),
    ]
