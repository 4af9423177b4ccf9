"""Refunds: revoke an order's credits in proportion to the money refunded, once per refund and
unit, never below zero; refunds that arrive before their order's grant wait, pending.

Runs in the consumer's batch transaction, which has locked the lots of every user with a refund
in the batch before anything else (the one lock order). The policy is in `refunds.domain`;
which lots the credits come from is `lots.domain.take_back` (the order's own lots first, then
the user's other lots of the unit in consumption order).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from paystream.ledger.books import repository as books
from paystream.ledger.books.domain import Tx
from paystream.ledger.journal.events import SOURCE, Keyed, lot_amounts
from paystream.ledger.lots import repository as lots_repo
from paystream.ledger.lots.domain import Allocator, Lot, take_back
from paystream.ledger.refunds import repository
from paystream.ledger.refunds.domain import Refund, RefundRefused, assess_refund
from paystream.ledger.refunds.repository import PENDING, OrderFacts, Outcome, RefundRow
from paystream.ledger.thresholds.service import after_change
from paystream.shared.clock import Clock
from paystream.shared.db import Connection
from paystream.shared.events import (
    CreditsRevokedV1,
    Envelope,
    RefundFactsV1,
    refunds_another_payment,
)
from paystream.shared.outbox import enqueue_many

log = structlog.get_logger(__name__)

REVOKE_REASON = "refund"


class ConcurrentRefund(asyncpg.SerializationError):
    """Another transaction recorded this refund as pending (it did not see the grant yet) while
    this one applied it. A serialization failure on purpose: the consumer retries the whole
    batch, which then finds the pending refund right after the grant and applies it there."""


@dataclass(frozen=True, slots=True)
class Revoked:
    """What one refund did to one unit of the ledger."""

    refund_key: str
    order_id: str
    user_id: str
    unit: str
    transaction_id: uuid.UUID | None
    credits: int
    shortfall: int
    balance_after: int
    revoked_at: datetime


async def revoke_for_refund(conn: Connection, refund: Refund, clock: Clock) -> list[Revoked]:
    """Revoke the refund's share of its order's lots, once per refund_key.

    Nothing is applied now when the refund was already known, or when its order has no grant yet
    (it is then recorded `pending`, see `apply_pending_refunds`). Raises RefundRefused for a
    refund that can never apply.
    """
    if await repository.refund_known(conn, refund.refund_key):
        return []
    order = await repository.order_facts(conn, refund.order_id)
    if order is None:
        if await repository.insert_refund(
            conn, uuid.uuid4(), refund, PENDING, received_at=clock.now()
        ):
            log.warning(
                "refund_waits_for_grant",
                refund_key=refund.refund_key,
                order_id=refund.order_id,
                user_id=refund.user_id,
            )
        return []
    return await _revoke(conn, order, refund, clock, pending=None)


async def _leave_grant(
    conn: Connection,
    refund: Refund,
    paid_with: str | None,
    clock: Clock,
    *,
    pending: RefundRow | None,
) -> None:
    """A refund of a second payment of the order (checkout refunded a payment the order did not
    need): the grant was paid by another payment and stands. Recorded, settled, for the record."""
    why = (
        f"returns payment {refund.provider_payment_id}, not {paid_with} that paid the order:"
        " its grant stands"
    )
    log.info("refund_of_another_payment", refund_key=refund.refund_key, order_id=refund.order_id)
    outcome = Outcome(status="rejected", rejection=why)
    if pending is not None:
        await repository.settle_refund(conn, pending.id, outcome)
    else:
        await repository.insert_refund(conn, uuid.uuid4(), refund, outcome, received_at=clock.now())


async def apply_pending_refunds(conn: Connection, order_id: str, clock: Clock) -> int:
    """Apply the refunds that waited for this order's grant, in the order they arrived; returns
    how many left `pending` (applied or rejected)."""
    order = await repository.order_facts(conn, order_id)
    if order is None:
        return 0
    # The one lock order, lots before refunds: the user's lots, then the waiting refunds (read
    # FOR UPDATE, so a second settler of them, the job below beside a batch that granted the
    # order, waits and then reads them settled). The job takes no lock before this.
    await lots_repo.lock_with_credits(conn, [order.user_id])
    settled = 0
    for row in await repository.pending_refunds_of(conn, order_id):
        settled += 1
        try:
            await _revoke(conn, order, row.refund, clock, pending=row)
        except RefundRefused as exc:
            # Refusing here would dead-letter the payment, not the refund: settle the refund
            # as rejected, for an operator, and let the grant stand.
            log.error(
                "pending_refund_rejected",
                refund_key=row.refund.refund_key,
                order_id=order_id,
                error=str(exc),
            )
            await repository.settle_refund(
                conn, row.id, Outcome(status="rejected", rejection=str(exc))
            )
    return settled


async def apply_waiting_refunds(pool: asyncpg.Pool, clock: Clock, limit: int = 100) -> int:
    """Settle refunds still `pending` although their order has been granted; returns how many.

    A refund waits only for a grant that is not there yet, and the batch that grants the order
    applies what waited. Both miss each other only when a grant and its refund are applied by two
    processes at once, each transaction blind to the other's uncommitted row. The consumers'
    range assignment and hand-over between batches (`shared.kafka`) keep a user's two topics in
    one process; this job settles what a hand-over that ran out of time, or a ledger from before
    them, left waiting. One transaction per order.
    """
    async with pool.acquire() as conn:
        orders = await repository.granted_orders_with_waiting_refunds(conn, limit)
    settled = 0
    for order_id in orders:
        async with pool.acquire() as conn, conn.transaction():
            n = await apply_pending_refunds(conn, order_id, clock)
        if n:
            log.warning("waiting_refunds_settled", order_id=order_id, refunds=n)
        settled += n
    return settled


async def _revoke(
    conn: Connection,
    order: OrderFacts,
    refund: Refund,
    clock: Clock,
    *,
    pending: RefundRow | None,
) -> list[Revoked]:
    paid_with = await repository.order_payment(conn, refund.order_id)
    if refunds_another_payment(refund.provider_payment_id, paid_with):
        await _leave_grant(conn, refund, paid_with, clock, pending=pending)
        return []
    if order.paid_minor is None or order.paid_currency is None:
        raise RefundRefused(
            f"order {refund.order_id} was granted before the ledger recorded payment amounts:"
            " its refund cannot be measured against the payment"
        )
    if refund.user_id != order.user_id:
        raise RefundRefused(
            f"refund {refund.refund_key} names user {refund.user_id!r}, but order"
            f" {refund.order_id} was granted to {order.user_id!r}"
        )
    # Re-entrant: the batch locked these already. Everything below is serialized per user, as
    # spends are: the balance read is the one the revocation applies to, and a second writer of
    # the same refund waits here.
    locked = await lots_repo.lock_with_credits(conn, [order.user_id])
    if pending is None and await repository.refund_known(conn, refund.refund_key):
        return []
    now = clock.now()
    received_at = pending.received_at if pending is not None else now
    out: list[Revoked] = []
    keyed: list[Keyed] = []
    available_after: dict[tuple[str, str], int] = {}
    for i, unit in enumerate(order.units):
        order_lot_ids = {lot.id for lot in order.lots if lot.unit == unit}
        credits = sum(lot.credits for lot in order.lots if lot.unit == unit)
        mine: list[Lot] = [x for x in locked if x.unit == unit and x.id in order_lot_ids]
        others: list[Lot] = [x for x in locked if x.unit == unit and x.id not in order_lot_ids]
        available = Allocator([*mine, *others], now).available
        refunded_before, due_before = await repository.refunded_so_far(conn, refund.order_id, unit)
        assessed = assess_refund(
            credits=credits,
            paid_minor=order.paid_minor,
            paid_currency=order.paid_currency,
            ordered_minor=order.ordered_minor,
            refunded_before_minor=refunded_before,
            due_before=due_before,
            amount_minor=refund.amount_minor,
            currency=refund.currency,
            balance=available,
        )
        taken, _ = take_back(mine, others, assessed.revoked, now)
        balance_after = available - assessed.revoked
        tx: Tx | None = None
        if assessed.revoked > 0:
            tx = Tx(
                id=uuid.uuid4(),
                kind="revoke",
                user_id=order.user_id,
                unit=unit,
                credits=assessed.revoked,
                balance_after=balance_after,
                at=now,
                reason=f"{REVOKE_REASON}: {refund.reason}" if refund.reason else REVOKE_REASON,
                lots=taken,
                order_id=refund.order_id,
                event_id=refund.event_id,
                refund_key=refund.refund_key,
            )
            await books.write(conn, [tx])
            # The locked lots moved: later units of this refund read them again.
            locked = await lots_repo.lock_with_credits(conn, [order.user_id])
        outcome = Outcome(
            status="applied",
            credits_due=assessed.due,
            credits_taken=assessed.revoked,
            shortfall=assessed.shortfall,
            balance_after=balance_after,
            transaction_id=tx.id if tx else None,
            applied_at=now,
        )
        if pending is not None and i == 0:
            record_id = pending.id
            await repository.settle_refund(conn, record_id, outcome, unit=unit)
        else:
            record_id = uuid.uuid4()
            if not await repository.insert_refund(
                conn, record_id, refund, outcome, unit=unit, received_at=received_at
            ):
                raise ConcurrentRefund(f"refund {refund.refund_key} was recorded concurrently")
        if assessed.shortfall:
            log.warning(
                "refund_shortfall",
                refund_key=refund.refund_key,
                order_id=refund.order_id,
                user_id=order.user_id,
                unit=unit,
                due=assessed.due,
                revoked=assessed.revoked,
                shortfall=assessed.shortfall,
            )
        revoked = Revoked(
            refund_key=refund.refund_key,
            order_id=refund.order_id,
            user_id=order.user_id,
            unit=unit,
            transaction_id=tx.id if tx else None,
            credits=assessed.revoked,
            shortfall=assessed.shortfall,
            balance_after=balance_after,
            revoked_at=now,
        )
        out.append(revoked)
        available_after[(order.user_id, unit)] = balance_after
        keyed.append(
            (
                order.user_id,
                Envelope.wrap(
                    CreditsRevokedV1(
                        user_id=order.user_id,
                        transaction_id=str(tx.id) if tx else None,
                        order_id=refund.order_id,
                        refund_key=refund.refund_key,
                        credits=assessed.revoked,
                        shortfall=assessed.shortfall,
                        balance_after=balance_after,
                        revoked_at=now,
                        unit=unit,
                        credits_due=assessed.due,
                        lots=lot_amounts(tx) if tx else [],
                        refund=RefundFactsV1(
                            record_id=record_id,
                            event_id=refund.event_id,
                            refund_id=refund.refund_id,
                            provider=refund.provider,
                            provider_refund_id=refund.provider_refund_id,
                            amount_minor=refund.amount_minor,
                            currency=refund.currency,
                            reason=refund.reason,
                            refunded_at=refund.refunded_at,
                            received_at=received_at,
                        ),
                    ),
                    source=SOURCE,
                    subject=order.user_id,
                    # The transaction's id when credits moved, else the refund record's: one
                    # event per refund and unit, with an id anyone can trace.
                    id=tx.id if tx else record_id,
                    time=now,
                ),
            )
        )
    keyed += await after_change(conn, available_after, now)
    await enqueue_many(conn, keyed)
    return out


async def refunds_page(
    pool: asyncpg.Pool,
    *,
    status: str | None,
    shortfall_only: bool,
    user_id: str | None,
    limit: int,
    before_seq: int | None,
) -> tuple[list[RefundRow], int | None]:
    """One page of refunds for operators, newest first, and the seq to continue before."""
    async with pool.acquire() as conn:
        rows = await repository.list_refunds(
            conn,
            status=status,
            shortfall_only=shortfall_only,
            user_id=user_id,
            limit=limit + 1,
            before_seq=before_seq,
        )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None
