"""Kafka handlers: payments.events moves orders to paid, failed, refunded.

Thin: the shared BatchConsumer owns the batch's transaction, has dropped the events the inbox
had seen, and hands this handler its connection; this parses each event and hands it, with that
connection, to orders or refunds. Event types checkout does not handle (events added later) are
skipped without parsing.
"""

from __future__ import annotations

from paystream.checkout.orders import service as orders
from paystream.checkout.refunds import service as refunds
from paystream.shared.db import Connection
from paystream.shared.events import (
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundSucceededV1,
)
from paystream.shared.kafka import Consumed

HANDLED = frozenset(
    {PaymentSucceededV1.TYPE, PaymentFailedV1.TYPE, RefundSucceededV1.TYPE, RefundFailedV1.TYPE}
)


async def handle_payment_events(conn: Connection, items: list[Consumed]) -> None:
    for item in items:
        if item.envelope.type not in HANDLED:
            continue
        event = item.envelope.payload()
        if isinstance(event, PaymentSucceededV1):
            await orders.apply_payment_succeeded(conn, event)
        elif isinstance(event, PaymentFailedV1):
            await orders.apply_payment_failed(conn, event)
        elif isinstance(event, RefundSucceededV1):
            await refunds.apply_refund_succeeded(conn, event)
        elif isinstance(event, RefundFailedV1):
            await refunds.apply_refund_failed(conn, event)
