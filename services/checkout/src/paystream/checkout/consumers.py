"""Kafka handlers: payments.events moves orders to paid, failed, refunded, Stripe
Subscriptions' notifications move subscriptions on, and saved payment methods follow Stripe;
ledger.events' balance.low starts auto-recharges.

Thin: the shared BatchConsumer owns the batch's transaction, has dropped the events the inbox
had seen, and hands this handler its connection; this parses each event and hands it, with that
connection, to orders, refunds or subscriptions. Event types checkout does not handle (events
added later) are skipped without parsing.
"""

from __future__ import annotations

from collections.abc import Callable

from paystream.checkout.auto_recharge import service as auto_recharge
from paystream.checkout.orders import service as orders
from paystream.checkout.orders.domain import Order
from paystream.checkout.payment_methods import service as payment_methods
from paystream.checkout.refunds import service as refunds
from paystream.checkout.second_payments.domain import SecondPaymentPolicy
from paystream.checkout.subscriptions import renewals
from paystream.checkout.subscriptions.service import Plans
from paystream.shared import outbox
from paystream.shared.clock import Clock
from paystream.shared.db import Connection
from paystream.shared.events import (
    BalanceLowV1,
    EventData,
    PaymentFailedV1,
    PaymentMethodChangedV1,
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
    PaymentMethodChangedV1,
)
HANDLED = frozenset(t.TYPE for t in CONSUMES)


def payment_events_handler(
    plans: Callable[[], Plans],
    clock: Callable[[], Clock] | None = None,
    second_payment: SecondPaymentPolicy = SecondPaymentPolicy.REFUND,
) -> BatchHandler:
    """The handler of payments.events; `plans` gives what subscriptions decide with, `clock`
    checkout's clock (getters: the consumer is declared before the app's context exists),
    `second_payment` what becomes of a second payment for a paid order."""

    async def handle(conn: Connection, items: list[Consumed]) -> None:
        events = [item.envelope.payload() for item in items if item.envelope.type in HANDLED]
        # The orders auto-recharge made, looked up once for the batch rather than per payment.
        recharged = (
            await auto_recharge.orders_with_attempts(
                conn,
                [e.order_id for e in events if isinstance(e, PaymentSucceededV1 | PaymentFailedV1)],
            )
            if clock is not None
            else frozenset()
        )
        # Plain payments (most of them) are locked together and applied in runs, one statement
        # per run; every other event one by one, in batch order, between the runs.
        plain = await orders.plain_payments(conn, events, excluded=recharged)
        # The batch's outbox rows are written in one statement at its end, in order.
        async with outbox.batched(conn):
            run: list[tuple[PaymentSucceededV1, Order]] = []
            for event, payment in zip(events, plain, strict=True):
                if payment is not None:
                    run.append(payment)
                    continue
                await orders.apply_plain_payments(conn, run)
                run = []
                await _apply(conn, event, recharged)
            await orders.apply_plain_payments(conn, run)

    async def _apply(conn: Connection, event: EventData, recharged: frozenset[str]) -> None:
        if isinstance(event, PaymentSucceededV1):
            await orders.apply_payment_succeeded(
                conn, event, plans=plans(), second_payment=second_payment
            )
            if clock is not None and event.order_id in recharged:
                await auto_recharge.order_paid(conn, event.order_id, clock())
        elif isinstance(event, PaymentFailedV1):
            await orders.apply_payment_failed(conn, event)
            if clock is not None and event.order_id in recharged:
                await auto_recharge.order_failed(conn, event.order_id, event.reason, clock())
        elif isinstance(event, PaymentMethodChangedV1):
            await payment_methods.apply_change(conn, event)
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


# ledger.events: what auto-recharge runs on.
LEDGER_CONSUMES = (BalanceLowV1,)


def ledger_events_handler(
    recharger: Callable[[], auto_recharge.Recharger], wake: Callable[[], None]
) -> BatchHandler:
    """The handler of ledger.events: a balance that crossed below a threshold becomes (at most)
    one recharge attempt, which the auto-recharge worker charges after this batch commits."""

    async def handle(conn: Connection, items: list[Consumed]) -> None:
        recorded = False
        for item in items:
            if item.envelope.type != BalanceLowV1.TYPE:
                continue
            event = item.envelope.payload_as(BalanceLowV1)
            attempt = await auto_recharge.on_balance_low(conn, item.envelope.id, event, recharger())
            recorded = recorded or (attempt is not None and attempt.status == "pending")
        if recorded:
            # Before the commit: the worker's round may find nothing yet, and then its timer
            # brings it back.
            wake()

    return handle
