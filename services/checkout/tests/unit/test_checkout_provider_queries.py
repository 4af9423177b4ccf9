"""What each provider's query answer means (the pure mappings sync and the reconciler use)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paystream.checkout.providers import PaymentState, ProviderError
from paystream.checkout.providers.alipay import payment_lookup as alipay_lookup
from paystream.checkout.providers.alipay_client import TradeQueryResult
from paystream.checkout.providers.stripe import (
    invoice_lookup,
    payment_intent_lookup,
    session_lookup,
)
from paystream.checkout.providers.wechatpay import payment_lookup as wechat_lookup
from paystream.shared.money import Money


def _trade(status: str, *, paid: str | None = None) -> TradeQueryResult:
    raw = {"trade_status": status}
    if paid:
        raw["send_pay_date"] = paid
    return TradeQueryResult(status, "2026120422001", Money(10000, "CNY"), raw)


def test_alipay_paid_closed_and_waiting() -> None:
    paid = alipay_lookup(_trade("TRADE_SUCCESS", paid="2026-12-04 18:00:00"))
    assert (paid.state, paid.provider_payment_id, paid.paid) == (
        PaymentState.PAID,
        "2026120422001",
        Money(10000, "CNY"),
    )
    assert paid.at == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # Beijing time, read as such
    assert alipay_lookup(_trade("TRADE_FINISHED", paid="2026-12-04 18:00:00")).state is (
        PaymentState.PAID
    )
    # Closed after payment: refunded in full, but paid all the same.
    assert alipay_lookup(_trade("TRADE_CLOSED", paid="2026-12-04 18:00:00")).state is (
        PaymentState.PAID
    )
    closed = alipay_lookup(_trade("TRADE_CLOSED"))
    assert closed.state is PaymentState.FAILED
    assert closed.reason is not None
    assert closed.reason.startswith("TRADE_CLOSED")
    assert alipay_lookup(_trade("WAIT_BUYER_PAY")).state is PaymentState.OPEN


def test_alipay_paid_without_an_amount_is_not_believed() -> None:
    broken = TradeQueryResult("TRADE_SUCCESS", "2026", None, {"trade_status": "TRADE_SUCCESS"})
    with pytest.raises(ProviderError):
        alipay_lookup(broken)


def test_wechat_pay_states() -> None:
    doc = {
        "trade_state": "SUCCESS",
        "transaction_id": "4200000001",
        "amount": {"total": 10000, "currency": "CNY"},
        "success_time": "2026-12-04T18:00:00+08:00",
    }
    paid = wechat_lookup(doc)
    assert (paid.state, paid.provider_payment_id, paid.paid) == (
        PaymentState.PAID,
        "4200000001",
        Money(10000, "CNY"),
    )
    assert wechat_lookup({**doc, "trade_state": "REFUND"}).state is PaymentState.PAID
    failed = wechat_lookup({"trade_state": "CLOSED", "trade_state_desc": "订单已关闭"})
    assert (failed.state, failed.reason) == (PaymentState.FAILED, "CLOSED: 订单已关闭")
    for state in ("NOTPAY", "USERPAYING"):
        assert wechat_lookup({"trade_state": state}).state is PaymentState.OPEN
    with pytest.raises(ProviderError):
        wechat_lookup({"trade_state": "SUCCESS", "amount": {"total": 1}})


def test_stripe_session_and_payment_intent_states() -> None:
    paid = session_lookup("complete", "paid", "pi_1", 10000, "cny")
    assert (paid.state, paid.provider_payment_id, paid.paid) == (
        PaymentState.PAID,
        "pi_1",
        Money(10000, "CNY"),
    )
    # A delayed method completes the session unpaid: its webhook says the end.
    assert session_lookup("complete", "unpaid", "pi_1", 10000, "cny").state is PaymentState.OPEN
    assert session_lookup("open", "unpaid", None, None, None).state is PaymentState.OPEN
    assert session_lookup("expired", "unpaid", None, None, None).state is PaymentState.FAILED
    assert payment_intent_lookup("succeeded", "pi_2", 500, "usd").paid == Money(500, "USD")
    assert payment_intent_lookup("canceled", "pi_2", 0, "usd").state is PaymentState.FAILED
    assert (
        payment_intent_lookup("requires_payment_method", "pi_2", 0, "usd").state
        is PaymentState.OPEN
    )


def test_a_stripe_subscription_s_session_is_paid_by_its_invoice() -> None:
    # A plan's first order opened a Stripe subscription: no PaymentIntent on the session, the
    # first invoice took the money. Paid, naming the invoice (before: "paid without naming the
    # payment", an error asked about again forever).
    paid = session_lookup("complete", "paid", None, 2900, "cny", invoice="in_1")
    assert (paid.state, paid.provider_payment_id, paid.paid) == (
        PaymentState.PAID,
        "in_1",
        Money(2900, "CNY"),
    )
    # A one-off session names its PaymentIntent, as its notification does.
    assert (
        session_lookup("complete", "paid", "pi_1", 2900, "cny", invoice="in_1").provider_payment_id
        == "pi_1"
    )


def test_a_plan_s_charge_on_a_stripe_invoice() -> None:
    # An upgrade charged on the subscription's invoice: the order's session is the invoice.
    paid = invoice_lookup("paid", "in_2", None, 1500, "cny", 1796403600)
    assert (paid.state, paid.provider_payment_id, paid.paid, paid.at) == (
        PaymentState.PAID,
        "in_2",  # what webhook-ingest names the payment of an invoice.paid without a PaymentIntent
        Money(1500, "CNY"),
        datetime(2026, 12, 4, 17, 0, tzinfo=UTC),
    )
    assert invoice_lookup("paid", "in_2", "pi_9", 1500, "cny", None).provider_payment_id == "pi_9"
    void = invoice_lookup("void", "in_2", None, 0, "cny", None)
    assert void.state is PaymentState.FAILED
    assert void.reason is not None
    # A declined card leaves the invoice open (invoice.payment_failed says it, not the invoice);
    # an uncollectible invoice may still be paid; a draft is not finalized yet: none is a failure.
    for status in ("open", "uncollectible", "draft"):
        assert invoice_lookup(status, "in_2", None, 0, "cny", None).state is PaymentState.OPEN
    with pytest.raises(ProviderError):
        invoice_lookup("paid", "in_2", None, None, None, None)
