"""A second payment for a paid order: what the configured policy does with it (`decide`), and
refunds measured against the payment they return (`refundable`)."""

from __future__ import annotations

import orderkit
import pytest
from orderkit import NOW, OID

from paystream.checkout.orders.domain import Order, OrderStatus
from paystream.checkout.refunds.domain import Refund, RefundState, refundable
from paystream.checkout.second_payments.domain import (
    Action,
    SecondPayment,
    SecondPaymentPolicy,
    credit_key_for,
    decide,
    refund_id_for,
)
from paystream.shared.events import PaymentSucceededV1
from paystream.shared.money import Money


def order(**over: object) -> Order:
    """The standard order, already paid by its first payment."""
    paid: dict[str, object] = {
        "status": OrderStatus.PAID,
        "provider_payment_id": "pi_first",
        "paid_amount_minor": 10_000,
        "paid_currency": "CNY",
        "paid_at": NOW,
    }
    return orderkit.order(**{**paid, **over})


def second(**over: object) -> PaymentSucceededV1:
    """Another payment for it: the price again, under another payment and session."""
    another: dict[str, object] = {
        "provider_event_id": "evt_2",
        "provider_payment_id": "pi_second",
        "provider_session_id": "cs_2",
    }
    return orderkit.payment(**{**another, **over})


@pytest.mark.parametrize("policy", list(SecondPaymentPolicy))
def test_each_policy_applies_to_a_second_payment_of_the_price(policy: SecondPaymentPolicy) -> None:
    assert decide(policy, order(), second()).action is policy
    assert decide(policy, order(), second()).reason is None


def test_a_refund_returns_whatever_the_second_payment_took() -> None:
    # Another amount, another currency: refunded as it was paid.
    for event in (second(amount_minor=1), second(amount_minor=99_999), second(currency="usd")):
        assert decide(SecondPaymentPolicy.REFUND, order(), event).action is Action.REFUND


@pytest.mark.parametrize(
    ("event", "over", "why"),
    [
        (second(amount_minor=9_999), {}, "paid 99.99 CNY, the order costs 100.00 CNY"),
        (second(currency="USD"), {}, "paid 100.00 USD"),
        (second(), {"kind": "renewal"}, "a plan's order"),
        (second(), {"kind": "subscription"}, "a plan's order"),
    ],
)
def test_credit_falls_back_to_review_when_it_would_not_be_the_same_purchase(
    event: PaymentSucceededV1, over: dict[str, object], why: str
) -> None:
    decision = decide(SecondPaymentPolicy.CREDIT, order(**over), event)
    assert decision.action is Action.REVIEW
    assert decision.reason is not None
    assert why in decision.reason


@pytest.mark.parametrize("policy", list(SecondPaymentPolicy))
def test_nothing_is_refunded_or_granted_in_an_unknown_currency_or_for_nothing(
    policy: SecondPaymentPolicy,
) -> None:
    unknown = decide(policy, order(), second(currency="XTS"))
    assert unknown.action is Action.REVIEW
    assert "XTS" in (unknown.reason or "")
    nothing = decide(policy, order(), second(amount_minor=0))
    assert nothing.action is Action.REVIEW


def test_one_refund_id_and_key_per_payment() -> None:
    assert refund_id_for("stripe", "pi_second") == refund_id_for("stripe", "pi_second")
    assert refund_id_for("stripe", "pi_second") != refund_id_for("stripe", "pi_third")
    assert refund_id_for("stripe", "x") != refund_id_for("alipay", "x")
    assert credit_key_for("stripe", "pi_second") == "second-payment:stripe:pi_second"


def _refund(minor: int, status: RefundState, pid: str | None = None) -> Refund:
    return Refund(
        id="r",
        order_id=OID,
        user_id="alice",
        amount=Money(minor, "CNY"),
        reason="x",
        status=status,
        provider="stripe",
        provider_refund_id=None,
        requested_by=None,
        idempotency_key=None,
        request_fingerprint=None,
        failure_reason=None,
        payout_reference=None,
        created_at=NOW,
        updated_at=NOW,
        succeeded_at=None,
        provider_payment_id=pid,
    )


def _payment(minor: int) -> SecondPayment:
    return SecondPayment(
        id="p",
        order_id=OID,
        user_id="alice",
        provider="stripe",
        provider_payment_id="pi_second",
        provider_session_id="cs_2",
        provider_event_id="evt_2",
        amount=Money(minor, "CNY"),
        paid_at=NOW,
        action=Action.REFUND,
        action_reason=None,
        refund_id=None,
        credited_order_id=None,
        created_at=NOW,
    )


def test_each_payment_is_refunded_against_its_own_amount_and_refunds() -> None:
    refunds = [
        _refund(3_000, RefundState.SUCCEEDED),  # of the order's own payment
        _refund(12_000, RefundState.SUCCEEDED, "pi_second"),  # all of the second
        _refund(500, RefundState.FAILED),  # released
    ]
    assert refundable(order(), refunds) == Money(7_000, "CNY")
    assert refundable(order(), refunds, payment=_payment(12_000)) == Money(0, "CNY")
    assert refundable(order(), refunds[:1], payment=_payment(12_000)) == Money(12_000, "CNY")
    # Before: a refund of the first payment, alone, as it always was.
    assert refundable(order(), refunds[:1]) == Money(7_000, "CNY")


@pytest.mark.parametrize("provider", ["alipay", "wechatpay"])
def test_a_trade_refunded_by_the_orders_number_is_only_held(provider: str) -> None:
    # Alipay and WeChat Pay refund by out_trade_no: under the order's own, the first payment
    # would go back. Under another trade number (or on Stripe, by PaymentIntent) it is refunded.
    same = second(provider=provider, provider_session_id="cs_1")
    decision = decide(SecondPaymentPolicy.REFUND, order(), same)
    assert decision.action is Action.REVIEW
    assert "trade number" in (decision.reason or "")
    other = second(provider=provider, provider_session_id="2026120400002")
    assert decide(SecondPaymentPolicy.REFUND, order(), other).action is Action.REFUND
    stripe = second(provider_session_id="cs_1")
    assert decide(SecondPaymentPolicy.REFUND, order(), stripe).action is Action.REFUND
