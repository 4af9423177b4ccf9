"""Which events become grants, in which order: paid orders (OrderPaidV1) grant one lot per line;
payments themselves (PaymentSucceededV1) no longer grant anything (checkout turns each payment
it accepts into its order's OrderPaidV1)."""

from __future__ import annotations

from datetime import UTC, datetime

from paystream.devtools.records import consumed
from paystream.ledger.consumers import inputs_from
from paystream.ledger.lots.service import OrderGrant
from paystream.shared.events import (
    Envelope,
    EventData,
    GrantSpec,
    InvoiceLine,
    OrderPaidV1,
    PaymentFailedV1,
    PaymentSucceededV1,
    order_paid_event_id,
)
from paystream.shared.kafka import Consumed

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _consumed(data: EventData, offset: int) -> Consumed:
    env = Envelope.wrap(
        data,
        source="test",
        id=order_paid_event_id(data.order_id) if isinstance(data, OrderPaidV1) else None,
    )
    return consumed(env, topic="orders.events", offset=offset, key=b"u")


def order_paid(order: str, user: str, *grants: GrantSpec) -> OrderPaidV1:
    return OrderPaidV1(
        order_id=order,
        user_id=user,
        package_id="standard",
        grants=list(grants),
        lines=[InvoiceLine(description="x", quantity=1, unit_amount_minor=100, amount_minor=100)],
        amount_minor=100,
        currency="CNY",
        paid_minor=100,
        paid_currency="CNY",
        provider="stripe",
        payment_method="stripe_checkout",
        provider_event_id=f"evt_{order}",
        paid_at=NOW,
    )


def test_paid_orders_become_one_grant_per_line_in_record_order_others_are_ignored() -> None:
    failed = PaymentFailedV1(
        order_id="o9",
        user_id="u",
        provider="stripe",
        provider_event_id="evt_f",
        reason="card_declined",
        failed_at=NOW,
    )
    payment = PaymentSucceededV1(
        order_id="o8",
        user_id="u",
        credits=100,
        amount_minor=100,
        currency="CNY",
        provider="stripe",
        provider_event_id="evt_p",
        paid_at=NOW,
    )
    items = [
        _consumed(order_paid("o1", "u", GrantSpec(quantity=100, cost_minor=100)), 0),
        _consumed(failed, 1),
        _consumed(payment, 2),  # a payment alone grants nothing any more
        _consumed(
            order_paid(
                "o3",
                "v",
                GrantSpec(quantity=5, validity="P6M", cost_minor=80),
                GrantSpec(unit="receives", quantity=2, priority=10, cost_minor=20),
            ),
            3,
        ),
    ]
    grants = inputs_from(items)
    assert all(isinstance(g, OrderGrant) for g in grants)
    assert [
        (g.order_id, g.line, g.user_id, g.unit, g.credits, g.validity, g.priority)
        for g in grants
        if isinstance(g, OrderGrant)
    ] == [
        ("o1", 0, "u", "credits", 100, None, 50),
        ("o3", 0, "v", "credits", 5, "P6M", 50),
        ("o3", 1, "v", "receives", 2, None, 10),
    ]
    first = grants[0]
    assert isinstance(first, OrderGrant)
    assert first.event_id == items[0].envelope.id == order_paid_event_id("o1")
    assert (first.paid_minor, first.paid_currency, first.cost_minor) == (100, "CNY", 100)
