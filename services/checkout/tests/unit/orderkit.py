"""Builders for the pure order tests: a pending standard order and a notification that pays it
exactly, each with fields replaced by keyword."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from paystream.checkout.orders.domain import Order, OrderStatus
from paystream.shared.events import PaymentSucceededV1
from paystream.shared.money import Money

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
OID = "6d1f6a3e-1d1b-4b6f-8a55-0a0f1a2b3c4d"


def order(**over: object) -> Order:
    """A pending order of the standard package (1,100 credits for CNY 100.00), by Stripe."""
    base = Order(
        id=OID,
        user_id="alice",
        package_id="standard",
        credits=1100,
        amount=Money(10_000, "CNY"),
        payment_method="stripe_checkout",
        status=OrderStatus.PENDING,
        return_url=None,
        idempotency_key=None,
        request_fingerprint=None,
        provider_session_id="cs_1",
        payment_url=None,
        provider_payment_id=None,
        paid_amount_minor=None,
        paid_currency=None,
        amount_mismatch=False,
        failure_reason=None,
        expires_at=NOW,
        paid_at=None,
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(base, **over)  # type: ignore[arg-type]


def payment(**over: object) -> PaymentSucceededV1:
    """Stripe's notification of a payment of exactly `order()`'s price."""
    fields: dict[str, object] = {
        "order_id": OID,
        "user_id": "alice",
        "package_id": "standard",
        "credits": 1100,
        "amount_minor": 10_000,
        "currency": "CNY",
        "provider": "stripe",
        "provider_event_id": "evt_1",
        "provider_payment_id": "pi_1",
        "paid_at": NOW,
    }
    return PaymentSucceededV1.model_validate({**fields, **over})
