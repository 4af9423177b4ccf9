"""Kafka batch handlers: parse paid orders (orders.events) and refunds (payments.events) and hand
them to the service, in record order.

The shared BatchConsumer opens the batch's transaction, records the inbox, and passes only
events never applied before; the grant's business key (one per order) and the refund's (one per
refund_key) cover the rest.
"""

from __future__ import annotations

from paystream.ledger import service
from paystream.ledger.domain import Grant, Refund
from paystream.shared.db import Connection
from paystream.shared.events import OrderPaidV1, RefundSucceededV1
from paystream.shared.kafka import Consumed

# What the handler applies (for the AsyncAPI document).
CONSUMES = (OrderPaidV1, RefundSucceededV1)


def ledger_events_from(items: list[Consumed]) -> list[Grant | Refund]:
    """The grants and refunds announced by a batch, in record order; other types are ignored."""
    out: list[Grant | Refund] = []
    for c in items:
        kind = c.envelope.type
        if kind == OrderPaidV1.TYPE:
            # What checkout accepted as paid, by the order's own facts (never the notification's).
            paid = c.envelope.payload_as(OrderPaidV1)
            credits = sum(g.quantity for g in paid.grants)
            # An order that grants nothing (a free one) has nothing to post.
            if credits > 0:
                out.append(
                    Grant(
                        c.envelope.id,
                        paid.order_id,
                        paid.user_id,
                        credits,
                        paid.paid_minor,
                        paid.paid_currency,
                    )
                )
        elif kind == RefundSucceededV1.TYPE:
            r = c.envelope.payload_as(RefundSucceededV1)
            out.append(
                Refund(
                    event_id=c.envelope.id,
                    refund_key=r.refund_key,
                    order_id=r.order_id,
                    user_id=r.user_id,
                    refund_id=r.refund_id,
                    provider=r.provider,
                    provider_refund_id=r.provider_refund_id,
                    amount_minor=r.amount_minor,
                    currency=r.currency,
                    reason=r.reason,
                    refunded_at=r.refunded_at,
                )
            )
    return out


def grants_from(items: list[Consumed]) -> list[Grant]:
    """The grants announced by a batch, in record order."""
    return [e for e in ledger_events_from(items) if isinstance(e, Grant)]


async def handle_payment_events(conn: Connection, items: list[Consumed]) -> None:
    """The handler for `payments.events`: grants and refunds, announced on `ledger.events`."""
    events = ledger_events_from(items)
    if events:
        await service.apply_payment_events(conn, events)
