"""Kafka handlers: payments.events moves orders to paid, failed, refunded, and Stripe
Subscriptions' notifications move subscriptions on.

Thin: the shared BatchConsumer owns the batch's transaction, has dropped the events the inbox
had seen, and hands this handler its connection; this parses each event and hands it, with that
connection, to orders, refunds or subscriptions. Event types checkout does not handle (events
added later) are skipped without parsing.
"""

from __future__ import annotations

from collections.abc import Callable

from paystream.checkout.orders import service as orders
from paystream.checkout.refunds import service as refunds
from paystream.checkout.subscriptions import renewals
from paystream.checkout.subscriptions.service import Plans
from paystream.shared.db import Connection
from paystream.shared.events import (
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionStatusV1,
)
from paystream.shared.kafka import BatchHandler, Consumed

CONSUMES = (
    PaymentSucceededV1,
    PaymentFailedV1,
    RefundSucceededV1,
    RefundFailedV1,
    RefundReportedV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionStatusV1,
)
HANDLED = frozenset(t.TYPE for t in CONSUMES)


def payment_events_handler(plans: Callable[[], Plans]) -> BatchHandler:
    """The handler of payments.events; `plans` gives what subscriptions decide with (a getter:
    the consumer is declared before the app's context exists)."""

    async def handle(conn: Connection, items: list[Consumed]) -> None:
        for item in items:
            if item.envelope.type not in HANDLED:
                continue
            event = item.envelope.payload()
            if isinstance(event, PaymentSucceededV1):
                await orders.apply_payment_succeeded(conn, event, plans=plans())
            elif isinstance(event, PaymentFailedV1):
                await orders.apply_payment_failed(conn, event)
            elif isinstance(event, RefundSucceededV1):
                await refunds.apply_refund_succeeded(conn, event)
            elif isinstance(event, RefundFailedV1):
                await refunds.apply_refund_failed(conn, event)
            elif isinstance(event, RefundReportedV1):
                await refunds.apply_refund_reported(conn, event)
            elif isinstance(event, SubscriptionInvoicePaidV1):
                await renewals.apply_invoice_paid(conn, event, plans())
            elif isinstance(event, SubscriptionPaymentFailedV1):
                await renewals.apply_payment_failed(conn, event, plans())
            elif isinstance(event, SubscriptionStatusV1):
                await renewals.apply_status(conn, event, plans())

    return handle
