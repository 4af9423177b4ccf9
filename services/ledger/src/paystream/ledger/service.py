"""What the ledger does: grant credits for paid orders (exactly once per order), revoke them
when the payment is refunded (exactly once per refund), spend credits (never below zero,
idempotent per key), read balances and history.

Functions handed a connection run inside their caller's transaction (the consumer's batch, or
a use case's) and never commit; the use cases the endpoints call (`spend`, `balance_of`,
`history`, `refunds_page`) are handed the pool and open their own. Events for other services go
to the outbox in the transaction of the change.

Refunds, the policy (also in the README):
- Proportional and cumulative: the refunds of an order owe back
  `floor(credits * refunded_total / paid)` in total; each refund revokes that minus what the
  earlier ones owed, so partial refunds never revoke more than the grant together and a full
  refund revokes exactly all of it.
- Already spent: the balance never goes below zero. A refund revokes `min(due, balance)`; the
  rest is its `shortfall`, recorded on the refund, reported in CreditsRevokedV1 and listed at
  `GET /v1/admin/refunds?shortfall=true`. It is not a debt: later purchases are not reduced.
- Exactly once per `refund_key` (the refunds table's unique key, and the revoke transaction's),
  whatever number of events announce it.
- Refund before its grant (payment not seen yet, or an order this ledger never granted): the
  refund is recorded `pending` and applied right after the grant when it arrives, in stream
  order; until then it is listed at `GET /v1/admin/refunds?status=pending`.
- Refunds that can never apply (another currency than the payment, more money than was paid,
  another user than the grant's, a grant recorded before refunds existed): `RefundRefused`, an
  InvalidEvent, so the consumer dead-letters the event. One found only when its grant arrives
  (it was pending) is settled `rejected` with the reason, so the grant itself goes through.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog

from paystream.ledger import repository
from paystream.ledger.domain import (
    GRANT_REASON,
    REVOKE_REASON,
    Grant,
    Refund,
    RefundRefused,
    assess_refund,
    balance_deltas,
    first_grant_per_order,
    grant_postings,
    revoke_postings,
    sequence_balances,
    spend_fingerprint,
    spend_postings,
    user_account,
)
from paystream.ledger.repository import PENDING, GrantRow, Outcome, RefundRow, TransactionRow
from paystream.shared.db import Connection, transaction
from paystream.shared.errors import BadRequest, Conflict, Unprocessable
from paystream.shared.events import (
    CreditsGrantedV1,
    CreditsRevokedV1,
    CreditsSpentV1,
    Envelope,
    utcnow,
)
from paystream.shared.outbox import enqueue, enqueue_many

log = structlog.get_logger(__name__)

SOURCE = "paystream/ledger"


class InsufficientCredits(Conflict):
    code = "insufficient_credits"


class IdempotencyKeyRequired(BadRequest):
    code = "idempotency_key_required"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"


class ConcurrentGrant(RuntimeError):
    """Another transaction granted one of this batch's orders after we checked.

    Only possible when two consumers apply the same order at once (a replay beside the live
    consumer). Raising rolls the batch back; the consumer then applies its events one at a
    time, and the check sees the other grant.
    """


class ConcurrentRefund(asyncpg.SerializationError):
    """Another transaction recorded this refund as pending (it did not see the grant yet) while
    this one applied it. A serialization failure on purpose: the consumer retries the whole
    batch, which then finds the pending refund right after the grant and applies it there."""


@dataclass(frozen=True, slots=True)
class Granted:
    transaction_id: uuid.UUID
    user_id: str
    order_id: str
    credits: int
    balance_after: int
    granted_at: datetime


async def grant_credits(conn: Connection, grants: list[Grant]) -> list[Granted]:
    """Grant each order's credits once, set-based: a few statements whatever the batch size.

    `grants` are in record order; a user's balance_after values follow that order.
    """
    fresh = first_grant_per_order(grants)
    if not fresh:
        return []
    already = await repository.granted_order_ids(conn, [g.order_id for g in fresh])
    fresh = [g for g in fresh if g.order_id not in already]
    if not fresh:
        return []

    granted_at = utcnow()
    postings = [grant_postings(g.user_id, g.credits) for g in fresh]
    balances = await repository.apply_balance_deltas(
        conn, balance_deltas(p for pair in postings for p in pair)
    )
    after = sequence_balances(fresh, balances)
    ids = [uuid.uuid4() for _ in fresh]
    granted = [
        Granted(tx, g.user_id, g.order_id, g.credits, bal, granted_at)
        for tx, g, bal in zip(ids, fresh, after, strict=True)
    ]
    insert = asyncio.ensure_future(
        repository.insert_grants(
            conn,
            ids=ids,
            user_ids=[g.user_id for g in fresh],
            order_ids=[g.order_id for g in fresh],
            event_ids=[g.event_id for g in fresh],
            credits=[g.credits for g in fresh],
            balances_after=after,
            paid_minor=[g.paid_minor for g in fresh],
            paid_currency=[g.paid_currency for g in fresh],
            reason=GRANT_REASON,
            created_at=granted_at,
        )
    )
    try:
        # A grant batch is about half Python, half PostgreSQL: let the insert go out, then
        # build the events while the server executes it, so both cores work at once. Nothing
        # else uses the connection until the insert is awaited.
        await asyncio.sleep(0)
        events = [(g.user_id, _granted_event(g)) for g in granted]
    finally:
        inserted = await insert
    if inserted != len(fresh):
        raise ConcurrentGrant(f"{len(fresh) - inserted} order(s) granted concurrently")
    await repository.insert_postings(
        conn, [(tx, p) for tx, pair in zip(ids, postings, strict=True) for p in pair]
    )
    await enqueue_many(conn, events)
    return granted


async def apply_payment_events(conn: Connection, events: Sequence[Grant | Refund]) -> None:
    """Apply a batch's grants and refunds in record order (one user's events are in one
    partition, so this is their stream order).

    Consecutive grants go set-based, as one run; a refund is applied between the run before it
    and the one after it. A batch without refunds (the usual one) is one `grant_credits` call.
    """
    run: list[Grant] = []
    for event in events:
        if isinstance(event, Grant):
            run.append(event)
            continue
        if run:
            await _grant_run(conn, run)
            run = []
        await revoke_for_refund(conn, event)
    if run:
        await _grant_run(conn, run)


async def _grant_run(conn: Connection, run: list[Grant]) -> None:
    """Grant a run; a refund waiting for one of its orders is applied right after that grant."""
    waiting = await repository.pending_refund_orders(conn, [g.order_id for g in run])
    if not waiting:
        await grant_credits(conn, run)
        return
    start = 0
    for i, g in enumerate(run):
        if g.order_id in waiting:
            waiting.discard(g.order_id)
            await grant_credits(conn, run[start : i + 1])
            start = i + 1
            await apply_pending_refunds(conn, g.order_id)
    if start < len(run):
        await grant_credits(conn, run[start:])


def _granted_event(g: Granted) -> Envelope:
    return Envelope.wrap(
        CreditsGrantedV1(
            user_id=g.user_id,
            transaction_id=str(g.transaction_id),
            order_id=g.order_id,
            credits=g.credits,
            balance_after=g.balance_after,
            granted_at=g.granted_at,
        ),
        source=SOURCE,
        subject=g.user_id,
        # The event is the transaction: one id for both, for anyone tracing it.
        id=g.transaction_id,
        time=g.granted_at,
    )


@dataclass(frozen=True, slots=True)
class Revoked:
    """What one refund did to the ledger."""

    refund_key: str
    order_id: str
    user_id: str
    transaction_id: uuid.UUID | None
    credits: int
    shortfall: int
    balance_after: int
    revoked_at: datetime


async def revoke_for_refund(conn: Connection, refund: Refund) -> Revoked | None:
    """Revoke the refund's share of its order's grant, once per refund_key.

    None when nothing was applied now: the refund was already known, or its order has no grant
    yet (it is then recorded `pending`, see `apply_pending_refunds`). Raises RefundRefused for a
    refund that can never apply.
    """
    if await repository.refund_known(conn, refund.refund_key):
        return None
    grant = await repository.find_grant(conn, refund.order_id)
    if grant is None:
        if await repository.insert_refund(conn, uuid.uuid4(), refund, PENDING):
            log.warning(
                "refund_waits_for_grant",
                refund_key=refund.refund_key,
                order_id=refund.order_id,
                user_id=refund.user_id,
            )
        return None
    return await _revoke(conn, grant, refund, pending_id=None)


async def apply_pending_refunds(conn: Connection, order_id: str) -> list[Revoked]:
    """Apply the refunds that waited for this order's grant, in the order they arrived."""
    grant = await repository.find_grant(conn, order_id)
    if grant is None:
        return []
    done: list[Revoked] = []
    for row in await repository.pending_refunds_of(conn, order_id):
        try:
            revoked = await _revoke(conn, grant, row.refund, pending_id=row.id)
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
            continue
        if revoked is not None:
            done.append(revoked)
    return done


async def _revoke(
    conn: Connection,
    grant: GrantRow,
    refund: Refund,
    *,
    pending_id: uuid.UUID | None,
) -> Revoked | None:
    if grant.paid_minor is None or grant.paid_currency is None:
        raise RefundRefused(
            f"order {refund.order_id} was granted before the ledger recorded payment amounts:"
            " its refund cannot be measured against the payment"
        )
    if refund.user_id != grant.user_id:
        raise RefundRefused(
            f"refund {refund.refund_key} names user {refund.user_id!r}, but order"
            f" {refund.order_id} was granted to {grant.user_id!r}"
        )
    account = user_account(grant.user_id)
    # Everything below is serialized per user, as spends are: the balance read is the one the
    # revocation applies to, and a second writer of the same refund waits here.
    balance = await repository.lock_balance(conn, account) or 0
    if pending_id is None and await repository.refund_known(conn, refund.refund_key):
        return None
    refunded_before, due_before = await repository.refunded_so_far(conn, refund.order_id)
    assessed = assess_refund(
        credits=grant.credits,
        paid_minor=grant.paid_minor,
        paid_currency=grant.paid_currency,
        refunded_before_minor=refunded_before,
        due_before=due_before,
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        balance=balance,
    )
    now = utcnow()
    tx_id: uuid.UUID | None = None
    balance_after = balance
    if assessed.revoked > 0:
        postings = revoke_postings(grant.user_id, assessed.revoked)
        balances = await repository.update_balances(conn, balance_deltas(postings))
        balance_after = balances[account]
        tx_id = uuid.uuid4()
        await repository.insert_revoke(
            conn,
            id=tx_id,
            user_id=grant.user_id,
            order_id=refund.order_id,
            refund_key=refund.refund_key,
            event_id=refund.event_id,
            reason=f"{REVOKE_REASON}: {refund.reason}" if refund.reason else REVOKE_REASON,
            credits=assessed.revoked,
            balance_after=balance_after,
            created_at=now,
        )
        await repository.insert_postings(conn, [(tx_id, p) for p in postings])
    outcome = Outcome(
        status="applied",
        credits_due=assessed.due,
        credits_taken=assessed.revoked,
        shortfall=assessed.shortfall,
        balance_after=balance_after,
        transaction_id=tx_id,
        applied_at=now,
    )
    refund_row_id = pending_id or uuid.uuid4()
    if pending_id is not None:
        await repository.settle_refund(conn, pending_id, outcome)
    elif not await repository.insert_refund(conn, refund_row_id, refund, outcome):
        raise ConcurrentRefund(f"refund {refund.refund_key} was recorded concurrently")
    if assessed.shortfall:
        log.warning(
            "refund_shortfall",
            refund_key=refund.refund_key,
            order_id=refund.order_id,
            user_id=grant.user_id,
            due=assessed.due,
            revoked=assessed.revoked,
            shortfall=assessed.shortfall,
        )
    revoked = Revoked(
        refund_key=refund.refund_key,
        order_id=refund.order_id,
        user_id=grant.user_id,
        transaction_id=tx_id,
        credits=assessed.revoked,
        shortfall=assessed.shortfall,
        balance_after=balance_after,
        revoked_at=now,
    )
    await enqueue(
        conn,
        grant.user_id,
        Envelope.wrap(
            CreditsRevokedV1(
                user_id=revoked.user_id,
                transaction_id=str(tx_id) if tx_id is not None else None,
                order_id=revoked.order_id,
                refund_key=revoked.refund_key,
                credits=revoked.credits,
                shortfall=revoked.shortfall,
                balance_after=revoked.balance_after,
                revoked_at=now,
            ),
            source=SOURCE,
            subject=revoked.user_id,
            # The transaction's id when credits moved, else the refund record's: one event per
            # refund, with an id anyone can trace.
            id=tx_id or refund_row_id,
            time=now,
        ),
    )
    return revoked


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


@dataclass(frozen=True, slots=True)
class Spent:
    transaction: TransactionRow
    replayed: bool


async def spend(
    pool: asyncpg.Pool,
    *,
    user_id: str,
    credits: int,
    reason: str,
    idempotency_key: str,
) -> Spent:
    """`POST /v1/spend`: one transaction around `spend_credits`."""
    async with transaction(pool) as conn:
        return await spend_credits(
            conn,
            user_id=user_id,
            credits=credits,
            reason=reason,
            idempotency_key=idempotency_key,
        )


async def spend_credits(
    conn: Connection,
    *,
    user_id: str,
    credits: int,
    reason: str,
    idempotency_key: str,
) -> Spent:
    """Spend credits once per idempotency key; never overdraw.

    The user's account row is locked first, so everything below is serialized per user:
    two concurrent spends cannot both see the same balance, and a request racing another with
    the same key finds the winner's transaction and replays it. A refused spend writes nothing,
    so retrying its key later (after a top-up) is evaluated afresh.
    """
    account = user_account(user_id)
    fingerprint = spend_fingerprint(credits, reason)
    balance = await repository.lock_balance(conn, account)

    previous = await repository.find_spend(conn, user_id, idempotency_key)
    if previous is not None:
        if previous.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different spend request"
            )
        return Spent(previous, replayed=True)

    if balance is None or balance < credits:
        raise InsufficientCredits(
            f"balance {balance or 0} is less than the {credits} credits requested",
            details={"balance": balance or 0, "requested": credits},
        )

    postings = spend_postings(user_id, credits)
    # The user's row is already locked; the CHECK on user balances is the last line of defence.
    balances = await repository.update_balances(conn, balance_deltas(postings))
    tx = await repository.insert_spend(
        conn,
        id=uuid.uuid4(),
        user_id=user_id,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        reason=reason,
        credits=credits,
        balance_after=balances[account],
    )
    await repository.insert_postings(conn, [(tx.id, p) for p in postings])
    await enqueue(
        conn,
        user_id,
        Envelope.wrap(
            CreditsSpentV1(
                user_id=user_id,
                transaction_id=str(tx.id),
                credits=credits,
                reason=reason,
                balance_after=tx.balance_after,
                spent_at=tx.created_at,
            ),
            source=SOURCE,
            subject=user_id,
            id=tx.id,
            time=tx.created_at,
        ),
    )
    return Spent(tx, replayed=False)


async def balance_of(pool: asyncpg.Pool, user_id: str) -> int:
    async with pool.acquire() as conn:
        return await repository.get_balance(conn, user_account(user_id))


async def history(
    pool: asyncpg.Pool, user_id: str, *, limit: int, before_seq: int | None
) -> tuple[list[TransactionRow], int | None]:
    """One page of a user's transactions, newest first, and the seq to continue before."""
    async with pool.acquire() as conn:
        rows = await repository.list_transactions(
            conn, user_id, limit=limit + 1, before_seq=before_seq
        )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None
