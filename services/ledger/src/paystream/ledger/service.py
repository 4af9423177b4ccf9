"""What the ledger does: grant credits for paid orders (exactly once per order), spend credits
(never below zero, idempotent per key), read balances and history.

Every function runs inside the caller's transaction (one per consumed batch or HTTP request)
and never commits. Events for other services go to the outbox in that same transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from paystream.ledger import repository
from paystream.ledger.domain import (
    GRANT_REASON,
    Grant,
    balance_deltas,
    first_grant_per_order,
    grant_postings,
    sequence_balances,
    spend_fingerprint,
    spend_postings,
    user_account,
)
from paystream.ledger.repository import TransactionRow
from paystream.shared.db import Connection
from paystream.shared.errors import BadRequest, Conflict, Unprocessable
from paystream.shared.events import CreditsGrantedV1, CreditsSpentV1, Envelope, utcnow
from paystream.shared.outbox import enqueue, enqueue_many

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


@dataclass(frozen=True, slots=True)
class Granted:
    transaction_id: uuid.UUID
    user_id: str
    order_id: str
    credits: int
    balance_after: int
    granted_at: datetime


async def grant_credits(
    conn: Connection, grants: list[Grant], *, events_topic: str
) -> list[Granted]:
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
            reason=GRANT_REASON,
            created_at=granted_at,
        )
    )
    try:
        # A grant batch is about half Python, half PostgreSQL: let the insert go out, then
        # build the events while the server executes it, so both cores work at once. Nothing
        # else uses the connection until the insert is awaited.
        await asyncio.sleep(0)
        events = [(events_topic, g.user_id, _granted_event(g)) for g in granted]
    finally:
        inserted = await insert
    if inserted != len(fresh):
        raise ConcurrentGrant(f"{len(fresh) - inserted} order(s) granted concurrently")
    await repository.insert_postings(
        conn, [(tx, p) for tx, pair in zip(ids, postings, strict=True) for p in pair]
    )
    await enqueue_many(conn, events)
    return granted


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
class Spent:
    transaction: TransactionRow
    replayed: bool


async def spend_credits(
    conn: Connection,
    *,
    user_id: str,
    credits: int,
    reason: str,
    idempotency_key: str,
    events_topic: str,
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
        events_topic,
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


async def balance_of(conn: Connection, user_id: str) -> int:
    return await repository.get_balance(conn, user_account(user_id))


async def history(
    conn: Connection, user_id: str, *, limit: int, before_seq: int | None
) -> tuple[list[TransactionRow], int | None]:
    """One page of a user's transactions, newest first, and the seq to continue before."""
    rows = await repository.list_transactions(conn, user_id, limit=limit + 1, before_seq=before_seq)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None
