"""Stripe Subscriptions' notifications normalized: a subscription's invoice paid or failed, its
status changed, and an upgrade's invoice that names its order (the Invoice and Subscription
shapes of API versions from 2025-03-31, and the older `subscription_details`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from paystream.devtools.stripe_events import (
    invoice_object,
    invoice_paid,
    invoice_payment_failed,
    subscription_event,
    subscription_metadata,
    subscription_object,
)
from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.providers.stripe.normalize import normalize, parse_event
from paystream.shared.events import (
    PaymentFailedV1,
    PaymentSucceededV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionStatusV1,
    deterministic_id,
)

RECEIVED_AT = datetime(2026, 3, 1, tzinfo=UTC)
META = subscription_metadata(subscription_id="sub-ps-1", user_id="user_7", plan_id="pro")
START, END = 1_775_000_000, 1_777_592_000


def run(doc: dict[str, Any]) -> Normalized:
    return normalize(parse_event(orjson.dumps(doc)), received_at=RECEIVED_AT)


def renewal(**kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "amount_minor": 2900,
        "currency": "CNY",
        "billing_reason": "subscription_cycle",
        "invoice_id": "in_renewal_1",
        "customer_id": "cus_1",
        "subscription_id": "sub_stripe_1",
        "subscription_metadata": META,
        "period_start": START,
        "period_end": END,
    }
    return invoice_object(**(args | kw))


def test_a_renewal_paid_is_the_subscription_s_invoice() -> None:
    doc = invoice_paid(renewal(), event_id="evt_paid_1")
    n = run(doc)
    assert n.outcome is Outcome.SUBSCRIPTION_INVOICE_PAID
    (out,) = n.events
    paid = out.data
    assert isinstance(paid, SubscriptionInvoicePaidV1)
    assert (paid.subscription_id, paid.user_id, paid.provider_subscription_id) == (
        "sub-ps-1",
        "user_7",
        "sub_stripe_1",
    )
    assert (paid.provider_invoice_id, paid.provider_customer_id) == ("in_renewal_1", "cus_1")
    assert (paid.amount_minor, paid.currency, paid.billing_reason) == (
        2900,
        "CNY",
        "subscription_cycle",
    )
    assert paid.period_start == datetime.fromtimestamp(START, UTC)
    assert paid.period_end == datetime.fromtimestamp(END, UTC)
    assert out.id == deterministic_id("stripe", "evt_paid_1", "subscription")
    assert n.keyed()[0][0] == "user_7"
    assert run(doc).envelopes() == n.envelopes(), "the same event normalizes the same"


def test_older_api_versions_put_the_subscription_at_the_top() -> None:
    inv = renewal()
    details = inv.pop("parent")["subscription_details"]
    inv["subscription_details"] = {"metadata": details["metadata"]}
    inv["subscription"] = details["subscription"]
    n = run(invoice_paid(inv))
    assert isinstance(n.events[0].data, SubscriptionInvoicePaidV1)
    assert n.events[0].data.provider_subscription_id == "sub_stripe_1"


def test_a_failed_renewal_says_when_stripe_retries() -> None:
    retry = 1_777_800_000
    n = run(invoice_payment_failed(renewal(status="open", next_payment_attempt=retry)))
    assert n.outcome is Outcome.SUBSCRIPTION_PAYMENT_FAILED
    failed = n.events[0].data
    assert isinstance(failed, SubscriptionPaymentFailedV1)
    assert failed.next_attempt_at == datetime.fromtimestamp(retry, UTC)
    assert failed.provider_invoice_id == "in_renewal_1"
    last = run(invoice_payment_failed(renewal(status="open")))
    assert isinstance(last.events[0].data, SubscriptionPaymentFailedV1)
    assert last.events[0].data.next_attempt_at is None  # Stripe's retries are over


@pytest.mark.parametrize(
    ("event_type", "status", "deleted"),
    [
        ("customer.subscription.updated", "past_due", False),
        ("customer.subscription.deleted", "canceled", True),
    ],
)
def test_a_subscription_s_status(event_type: str, status: str, deleted: bool) -> None:
    obj = subscription_object(subscription_id="sub_stripe_1", metadata=META, status=status)
    n = run(subscription_event(event_type, obj))
    assert n.outcome is Outcome.SUBSCRIPTION_STATUS
    data = n.events[0].data
    assert isinstance(data, SubscriptionStatusV1)
    assert (data.status, data.deleted, data.provider_subscription_id) == (
        status,
        deleted,
        "sub_stripe_1",
    )


def test_an_upgrade_invoice_naming_its_order_is_that_order_s_payment() -> None:
    order = {"order_id": "ord_9", "user_id": "user_7", "credits": "40", "package_id": "vip"}
    inv = invoice_object(
        amount_minor=1500,
        currency="CNY",
        billing_reason="manual",
        invoice_id="in_up_1",
        metadata=order,
    )
    paid = run(invoice_paid(inv))
    assert paid.outcome is Outcome.PAYMENT_SUCCEEDED
    assert isinstance(paid.payment, PaymentSucceededV1)
    assert (paid.payment.order_id, paid.payment.amount_minor, paid.payment.credits) == (
        "ord_9",
        1500,
        40,
    )
    assert paid.payment.provider_session_id == "in_up_1"
    failed = run(invoice_payment_failed(inv | {"status": "open"}))
    assert isinstance(failed.payment, PaymentFailedV1)


def test_invoices_that_are_not_ours_are_ignored() -> None:
    foreign = invoice_object(
        amount_minor=100,
        currency="USD",
        billing_reason="subscription_cycle",
        subscription_id="sub_x",
        subscription_metadata={"team": "x"},
    )
    n = run(invoice_paid(foreign))
    assert (n.outcome, n.ignored) == (Outcome.NOT_OURS, True)
    one_off = run(
        invoice_paid(invoice_object(amount_minor=5, currency="USD", billing_reason="manual"))
    )
    assert one_off.ignored


@pytest.mark.parametrize(
    "change",
    [
        {"currency": "xxx"},
        {"amount_paid": "2900"},
        {"amount_paid": -1},
    ],
)
def test_a_subscription_invoice_we_cannot_read_is_reported(change: dict[str, Any]) -> None:
    n = run(invoice_paid(renewal() | change))
    assert n.outcome is Outcome.INVALID_METADATA
    assert (n.events, n.user_id, n.needs_operator) == ((), "user_7", True)


def test_subscription_metadata_without_a_user_is_reported() -> None:
    meta = {k: v for k, v in META.items() if k != "user_id"}
    n = run(invoice_paid(renewal(subscription_metadata=meta)))
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.events == ()
