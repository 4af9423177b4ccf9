"""Kafka batch handlers: parse payment events into grants and hand them to the service.

The shared BatchConsumer opens the batch's transaction, records the inbox, and passes only
events never applied before; the grant's business key (one per order) covers the rest.
"""

from __future__ import annotations

from paystream.ledger import service
from paystream.ledger.domain import Grant
from paystream.shared.db import Connection
from paystream.shared.events import PaymentSucceededV1
from paystream.shared.kafka import BatchHandler, Consumed
from paystream.shared.topics import LEDGER_EVENTS


def grants_from(items: list[Consumed]) -> list[Grant]:
    """The grants announced by a batch, in record order; other event types are ignored."""
    grants: list[Grant] = []
    for c in items:
        if c.envelope.type != PaymentSucceededV1.TYPE:
            continue
        paid = c.envelope.payload_as(PaymentSucceededV1)
        # A payment that buys no credits (credits=0) has nothing to post.
        if paid.credits > 0:
            grants.append(Grant(c.envelope.id, paid.order_id, paid.user_id, paid.credits))
    return grants


def payment_events_handler(events_topic: str = LEDGER_EVENTS) -> BatchHandler:
    """The handler for `payments.events`, publishing CreditsGrantedV1 to `events_topic`."""

    async def handle(conn: Connection, items: list[Consumed]) -> None:
        grants = grants_from(items)
        if grants:
            await service.grant_credits(conn, grants, events_topic=events_topic)

    return handle


handle_payment_events = payment_events_handler()
