"""Kafka batch handler for `payments.events`: pick the successful payments and refunds, hand them
on.

The shared BatchConsumer calls it inside the batch's transaction, after the inbox dropped the
events already applied. Invoices go first, set-based; then the refunds, which need them: a
refund is credited against the invoice of its order, and its credit note is numbered where it
comes in the stream (a refund before its payment in the batch waits for the payment's place).
"""

from __future__ import annotations

from paystream.invoicing import service
from paystream.shared.db import Connection
from paystream.shared.events import PaymentSucceededV1, RefundSucceededV1
from paystream.shared.kafka import Consumed

# What the handler applies (for the AsyncAPI document).
CONSUMES = (PaymentSucceededV1, RefundSucceededV1)


async def handle_payment_events(conn: Connection, items: list[Consumed]) -> None:
    paid: list[service.PaidOrder] = []
    refunds: list[service.RefundReceived] = []
    positions = {}
    for position, c in enumerate(items):
        kind = c.envelope.type
        if kind == PaymentSucceededV1.TYPE:
            paid.append(service.PaidOrder(c.envelope.id, c.envelope.payload_as(PaymentSucceededV1)))
            positions[c.envelope.id] = position
        elif kind == RefundSucceededV1.TYPE:
            refund = c.envelope.payload_as(RefundSucceededV1)
            refunds.append(service.RefundReceived(c.envelope.id, refund, position))
        # Failed payments (and any other type on the topic) have nothing to invoice.
    issued = await service.issue_invoices(conn, paid)
    invoiced_now = {i.order_id: positions[i.payment_event_id] for i in issued}
    await service.issue_credit_notes(conn, refunds, invoiced_now=invoiced_now)
