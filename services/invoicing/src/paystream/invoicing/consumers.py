"""Kafka batch handler for `payments.events`: pick the successful payments, hand them on.

The shared BatchConsumer calls it inside the batch's transaction, after the inbox dropped the
events already applied.
"""

from __future__ import annotations

from paystream.invoicing import service
from paystream.shared.db import Connection
from paystream.shared.events import PaymentSucceededV1
from paystream.shared.kafka import Consumed


async def handle_payment_events(conn: Connection, items: list[Consumed]) -> None:
    paid = [
        service.PaidOrder(c.envelope.id, c.envelope.payload_as(PaymentSucceededV1))
        for c in items
        # Failed payments (and any other type on the topic) have nothing to invoice.
        if c.envelope.type == PaymentSucceededV1.TYPE
    ]
    await service.issue_invoices(conn, paid)
