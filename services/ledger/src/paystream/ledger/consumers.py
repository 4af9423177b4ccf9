"""Kafka batch handler of the ledger's inputs: what paid orders grant (`orders.events`,
OrderPaidV1) and refunds (`payments.events`, RefundSucceededV1), in record order; and the
thresholds checkout's auto-recharge sets (`orders.events`, AutoRechargeConfiguredV1).

The shared BatchConsumer opens the batch's transaction, records the inbox, and passes only
events never applied before; the grant's business key (one lot per order line) and the refund's
(one per refund_key and unit) cover the rest. Other event types (the orders' other events, the
payments' PaymentSucceededV1, which checkout turns into OrderPaidV1) are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from paystream.ledger.lots import repository as lots_repo
from paystream.ledger.lots.service import OrderGrant, grant_orders, order_grants
from paystream.ledger.refunds import repository as refunds_repo
from paystream.ledger.refunds.domain import Refund
from paystream.ledger.refunds.service import apply_pending_refunds, revoke_for_refund
from paystream.ledger.thresholds.service import put_threshold
from paystream.shared.clock import Clock
from paystream.shared.db import Connection
from paystream.shared.events import AutoRechargeConfiguredV1, OrderPaidV1, RefundSucceededV1
from paystream.shared.kafka import BatchHandler, Consumed

Input = OrderGrant | Refund

# What the handler applies (for the AsyncAPI document).
CONSUMES = (OrderPaidV1, RefundSucceededV1, AutoRechargeConfiguredV1)


def inputs_from(items: list[Consumed]) -> list[Input]:
    """The grants and refunds announced by a batch, in record order; other types are ignored."""
    out: list[Input] = []
    for c in items:
        kind = c.envelope.type
        if kind == OrderPaidV1.TYPE:
            out += order_grants(c.envelope.id, c.envelope.payload_as(OrderPaidV1))
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
                    provider_payment_id=r.provider_payment_id,
                )
            )
    return out


async def apply_inputs(conn: Connection, inputs: Sequence[Input], clock: Clock) -> None:
    """Apply a batch's grants and refunds in record order (one user's events are in one
    partition, so this is their stream order).

    Consecutive grants go set-based, as one run; a refund is applied between the run before it
    and the one after it. A batch without refunds (the usual one) is one `grant_orders` call.
    """
    # A refund revokes from its user's lots, a rollover ends its user's last allowance.
    lockers = [i.user_id for i in inputs if isinstance(i, Refund) or i.rollover is not None]
    if lockers:
        # Take those users' lot locks first, in the one lock order, before anything else this
        # transaction locks: a spend batch waiting for them can never be waited for back.
        await lots_repo.lock_with_credits(conn, lockers)
    # Which payment each order was paid with, before any refund of the batch is weighed.
    await refunds_repo.record_order_payments(
        conn,
        {
            i.order_id: i.provider_payment_id
            for i in inputs
            if isinstance(i, OrderGrant) and i.provider_payment_id
        },
    )
    run: list[OrderGrant] = []
    for item in inputs:
        if isinstance(item, OrderGrant):
            run.append(item)
            continue
        if run:
            await _grant_run(conn, run, clock)
            run = []
        await revoke_for_refund(conn, item, clock)
    if run:
        await _grant_run(conn, run, clock)


async def _grant_run(conn: Connection, run: list[OrderGrant], clock: Clock) -> None:
    """Grant a run; a refund waiting for one of its orders is applied right after that order."""
    waiting = await refunds_repo.pending_refund_orders(conn, [g.order_id for g in run])
    if not waiting:
        await grant_orders(conn, run, clock)
        return
    start = 0
    for i, g in enumerate(run):
        last_line = i + 1 == len(run) or run[i + 1].order_id != g.order_id
        if g.order_id in waiting and last_line:
            waiting.discard(g.order_id)
            await grant_orders(conn, run[start : i + 1], clock)
            start = i + 1
            await apply_pending_refunds(conn, g.order_id, clock)
    if start < len(run):
        await grant_orders(conn, run[start:], clock)


def ledger_handler(clock: Callable[[], Clock]) -> BatchHandler:
    """The handler for `orders.events` and `payments.events`, on the ledger's clock (a getter:
    the consumer is declared before the clock exists)."""

    async def handle(conn: Connection, items: list[Consumed]) -> None:
        inputs = inputs_from(items)
        if inputs:
            await apply_inputs(conn, inputs, clock())
        await apply_auto_recharge_thresholds(conn, items, clock())

    return handle


async def apply_auto_recharge_thresholds(
    conn: Connection, items: list[Consumed], clock: Clock
) -> None:
    """Checkout's auto-recharge settings set the user's low-balance threshold (None removes it),
    so the ledger announces the crossings auto-recharge runs on. After the batch's grants: a
    setting and a grant of one user in one batch leave the flag as the grant left the balance
    (at worst one balance.low fewer for a balance a grant already brought back above)."""
    for c in items:
        if c.envelope.type != AutoRechargeConfiguredV1.TYPE:
            continue
        e = c.envelope.payload_as(AutoRechargeConfiguredV1)
        await put_threshold(
            conn,
            user_id=e.user_id,
            unit=e.unit,
            threshold=e.threshold,
            actor=f"auto-recharge:{e.actor}",
            at=clock.now(),
        )
