"""Kafka batch handler for `orders.events` and `payments.events`: pick the paid orders (checkout's
OrderPaidV1: the order's facts, what was paid) and the refunds, hand them on.

The shared BatchConsumer calls it inside the batch's transaction, after the inbox dropped the
events already applied. Invoices go first, set-based; then the refunds, which need them: a
refund is credited against the invoice of its order, and its credit note is numbered where it
comes in the stream (a refund before its payment in the batch waits for the payment's place).
"""

from __future__ import annotations

from paystream.invoicing import service
from paystream.shared.db import Connection
from paystream.shared.events import OrderPaidV1, RefundSucceededV1
from paystream.shared.kafka import Consumed

# What the handler applies (for the AsyncAPI document).
CONSUMES = (OrderPaidV1, RefundSucceededV1)


async def handle_payment_events(conn: Connection, items: list[Consumed]) -> None:
    paid: list[service.PaidOrder] = []
    refunds: list[service.RefundReceived] = []
    positions = {}
    for position, c in enumerate(items):
        kind = c.envelope.type
        if kind == OrderPaidV1.TYPE:
            payment = c.envelope.payload_as(OrderPaidV1)
            if payment.provider is None:
                # A free allowance (a free plan's month, an annual plan's later months): nothing
                # was paid, nothing is invoiced. The paid period that granted it was invoiced.
                continue
            paid.append(service.PaidOrder(c.envelope.id, payment))
            positions[c.envelope.id] = position
        elif kind == RefundSucceededV1.TYPE:
            refund = c.envelope.payload_as(RefundSucceededV1)
            refunds.append(service.RefundReceived(c.envelope.id, refund, position))
        # Payment notifications (checkout decides what they mean), orders' other events and
        # failed payments have nothing to invoice.
    issued = await service.issue_invoices(conn, paid)
    invoiced_now = {i.order_id: positions[i.payment_event_id] for i in issued}
    await service.issue_credit_notes(conn, refunds, invoiced_now=invoiced_now)
