"""Kafka batch handlers: parse payment and refund events and hand them to the service, in
record order.

The shared BatchConsumer opens the batch's transaction, records the inbox, and passes only
events never applied before; the grant's business key (one per order) and the refund's (one per
refund_key) cover the rest.
"""

from __future__ import annotations

from paystream.ledger import service
from paystream.ledger.domain import Grant, Refund
from paystream.shared.db import Connection
from paystream.shared.events import (
    CreditsGrantedV1,
    CreditsRevokedV1,
    CreditsSpentV1,
    PaymentSucceededV1,
    RefundSucceededV1,
)
from paystream.shared.kafka import BatchHandler, Consumed
from paystream.shared.topics import LEDGER_EVENTS

# What the handler applies, and what the ledger publishes (for the AsyncAPI document).
CONSUMES = (PaymentSucceededV1, RefundSucceededV1)
PUBLISHES = (CreditsGrantedV1, CreditsSpentV1, CreditsRevokedV1)


def ledger_events_from(items: list[Consumed]) -> list[Grant | Refund]:
    """The grants and refunds announced by a batch, in record order; other types are ignored."""
    out: list[Grant | Refund] = []
    for c in items:
        kind = c.envelope.type
        if kind == PaymentSucceededV1.TYPE:
            paid = c.envelope.payload_as(PaymentSucceededV1)
            # A payment that buys no credits (credits=0) has nothing to post.
            if paid.credits > 0:
                out.append(
                    Grant(
                        c.envelope.id,
                        paid.order_id,
                        paid.user_id,
                        paid.credits,
                        paid.amount_minor,
                        paid.currency,
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


def payment_events_handler(events_topic: str = LEDGER_EVENTS) -> BatchHandler:
    """The handler for `payments.events`, publishing CreditsGrantedV1 / CreditsRevokedV1 to
    `events_topic`."""

    async def handle(conn: Connection, items: list[Consumed]) -> None:
        events = ledger_events_from(items)
        if events:
            await service.apply_payment_events(conn, events, events_topic=events_topic)

    return handle


handle_payment_events = payment_events_handler()
