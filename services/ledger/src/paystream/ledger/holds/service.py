"""Holds: reserve credits from lots in consumption order, then capture (spend) part or all of
them and release the rest, or release them all; a hold whose time runs out releases itself.

Held credits are not spendable, and the held part of a lot does not expire while the hold is
open: a hold can be captured until its own time runs out even if a lot under it expired
meanwhile; whatever is released from an expired lot expires with it (the expiry job writes it).
Each use case owns one transaction and locks lots first (in the one lock order), then the hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from paystream.ledger.books import repository as books
from paystream.ledger.books.domain import Tx, fingerprint
from paystream.ledger.errors import (
    CaptureExceedsHold,
    HoldExpired,
    HoldNotFound,
    HoldNotOpen,
    IdempotencyKeyReused,
    InsufficientCredits,
)
from paystream.ledger.holds import repository
from paystream.ledger.holds.repository import HoldRow
from paystream.ledger.journal import events
from paystream.ledger.journal.events import Keyed
from paystream.ledger.lots import repository as lots_repo
from paystream.ledger.lots.domain import Allocator, Insufficient, Lot, split_capture
from paystream.ledger.thresholds.service import after_change
from paystream.shared.auth import Principal
from paystream.shared.clock import Clock
from paystream.shared.db import Connection, transaction
from paystream.shared.outbox import enqueue_many

HOLD_REASON = "hold"


@dataclass(frozen=True, slots=True)
class HoldResult:
    hold: HoldRow
    replayed: bool
    balance_after: int | None = None


async def place_hold(
    pool: asyncpg.Pool,
    clock: Clock,
    *,
    user_id: str,
    unit: str,
    credits: int,
    ttl: timedelta,
    reason: str,
    idempotency_key: str,
) -> HoldResult:
    """Reserve `credits` of the user's live lots, once per Idempotency-Key."""
    request_hash = fingerprint(
        op="hold", unit=unit, credits=credits, ttl_s=ttl.total_seconds(), reason=reason
    )
    async with transaction(pool) as conn:
        now = clock.now()
        pair = (user_id, unit)
        lots = await lots_repo.lock_live(conn, [pair], now)
        previous = await repository.find_by_key(conn, user_id, idempotency_key)
        if previous is not None:
            if previous.request_hash != request_hash:
                raise IdempotencyKeyReused("this Idempotency-Key was used for a different hold")
            return HoldResult(previous, replayed=True)
        allocator = Allocator(lots, now)
        try:
            taken = allocator.take(credits)
        except Insufficient as exc:
            raise InsufficientCredits(
                f"balance {exc.available} is less than the {credits} credits requested",
                details={"balance": exc.available, "requested": credits, "unit": unit},
            ) from None
        hold_id = uuid.uuid4()
        tx = Tx(
            id=uuid.uuid4(),
            kind="hold",
            user_id=user_id,
            unit=unit,
            credits=credits,
            balance_after=allocator.available,
            at=now,
            reason=reason,
            lots=taken,
            hold_id=hold_id,
        )
        expires_at = now + ttl
        await repository.insert(
            conn,
            id=hold_id,
            user_id=user_id,
            unit=unit,
            credits=credits,
            reason=reason,
            expires_at=expires_at,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            transaction_id=tx.id,
            created_at=now,
            allocations=taken,
        )
        await books.write(conn, [tx])
        await enqueue_many(
            conn,
            [
                events.held(tx, expires_at, idempotency_key, request_hash),
                *await after_change(conn, {pair: allocator.available}, now),
            ],
        )
        hold = await repository.get(conn, hold_id)
    assert hold is not None
    return HoldResult(hold, replayed=False, balance_after=tx.balance_after)


async def _visible(conn: Connection, hold_id: uuid.UUID, principal: Principal) -> HoldRow:
    hold = await repository.get(conn, hold_id)
    if hold is None or (hold.user_id != principal.user_id and not principal.is_admin):
        raise HoldNotFound(f"no hold {hold_id}")
    return hold


async def settle(
    conn: Connection,
    hold: HoldRow,
    lots: Sequence[Lot],
    *,
    capture: int,
    cause: Literal["release", "capture", "expired"],
    now: datetime,
) -> tuple[list[Keyed], int]:
    """Capture `capture` credits of an open hold (locked by the caller with its `lots`) and
    release the rest; returns the events and the available balance after."""
    captured, released = split_capture(hold.allocations, capture)
    txs: list[Tx] = []
    if captured:
        txs.append(
            Tx(
                id=uuid.uuid4(),
                kind="capture",
                user_id=hold.user_id,
                unit=hold.unit,
                credits=capture,
                balance_after=0,  # set below, once known
                at=now,
                reason=hold.reason,
                lots=captured,
                hold_id=hold.id,
            )
        )
    if released:
        txs.append(
            Tx(
                id=uuid.uuid4(),
                kind="release",
                user_id=hold.user_id,
                unit=hold.unit,
                credits=hold.credits - capture,
                balance_after=0,
                at=now,
                reason=hold.reason,
                lots=released,
                hold_id=hold.id,
            )
        )
    pair = (hold.user_id, hold.unit)
    # What is available once the released credits are back (those of a lot that expired meanwhile
    # do not count): the held credits never were.
    live = {lot.id for lot in lots if lot.is_live(now)}
    back = sum(n for lot, n in released if lot in live)
    available = (await lots_repo.available_of(conn, [pair], now))[pair] + back
    txs = [replace(t, balance_after=available) for t in txs]
    await books.write(conn, txs)
    status = "expired" if cause == "expired" else "captured" if capture else "released"
    await repository.settle(
        conn, hold.id, status=status, captured=capture, released=hold.credits - capture, at=now
    )
    out = [events.captured(t) if t.kind == "capture" else events.released(t, cause) for t in txs]
    out += await after_change(conn, {pair: available}, now)
    return out, available


async def _lock(conn: Connection, hold: HoldRow) -> tuple[HoldRow, list[Lot]]:
    """Lock the hold's lots (the one lock order), then the hold; returns both as they are now."""
    lots = await lots_repo.lock_lots(conn, [lot for lot, _ in hold.allocations])
    locked = await repository.get(conn, hold.id, lock=True)
    assert locked is not None
    return locked, lots


async def capture(
    pool: asyncpg.Pool, clock: Clock, *, hold_id: uuid.UUID, credits: int, principal: Principal
) -> HoldResult:
    """Spend `credits` (at most what is held) and release the rest. Capturing a captured hold
    again with the same credits answers the same; a hold whose time ran out is refused."""
    async with transaction(pool) as conn:
        hold, lots = await _lock(conn, await _visible(conn, hold_id, principal))
        now = clock.now()
        if hold.status == "captured" and hold.captured == credits:
            return HoldResult(hold, replayed=True)
        if hold.status == "expired" or (hold.status == "open" and now >= hold.expires_at):
            raise HoldExpired(
                f"hold {hold_id} expired at {hold.expires_at.isoformat()}: its credits were"
                " released",
                details={"expires_at": hold.expires_at.isoformat()},
            )
        if hold.status != "open":
            raise HoldNotOpen(f"hold {hold_id} is {hold.status}", details={"status": hold.status})
        if credits > hold.credits:
            raise CaptureExceedsHold(
                f"capture of {credits} exceeds the {hold.credits} credits held",
                details={"held": hold.credits, "requested": credits},
            )
        out, available = await settle(conn, hold, lots, capture=credits, cause="capture", now=now)
        await enqueue_many(conn, out)
        settled = await repository.get(conn, hold_id)
    assert settled is not None
    return HoldResult(settled, replayed=False, balance_after=available)


async def release(
    pool: asyncpg.Pool, clock: Clock, *, hold_id: uuid.UUID, principal: Principal
) -> HoldResult:
    """Release all that is held. Releasing a released hold again answers the same."""
    async with transaction(pool) as conn:
        hold, lots = await _lock(conn, await _visible(conn, hold_id, principal))
        now = clock.now()
        if hold.status in ("released", "expired"):
            return HoldResult(hold, replayed=True)
        if hold.status != "open":
            raise HoldNotOpen(f"hold {hold_id} is {hold.status}", details={"status": hold.status})
        cause: Literal["release", "expired"] = "expired" if now >= hold.expires_at else "release"
        out, available = await settle(conn, hold, lots, capture=0, cause=cause, now=now)
        await enqueue_many(conn, out)
        settled = await repository.get(conn, hold_id)
    assert settled is not None
    return HoldResult(settled, replayed=False, balance_after=available)


async def release_overdue(pool: asyncpg.Pool, clock: Clock, *, limit: int = 200) -> int:
    """The hold TTL job: release every open hold whose time ran out, one transaction each."""
    async with pool.acquire() as conn:
        due = await repository.overdue(conn, clock.now(), limit)
    done = 0
    for hold_id in due:
        async with transaction(pool) as conn:
            found = await repository.get(conn, hold_id)
            if found is None:
                continue
            hold, lots = await _lock(conn, found)
            now = clock.now()
            if hold.status != "open" or now < hold.expires_at:
                continue
            out, _ = await settle(conn, hold, lots, capture=0, cause="expired", now=now)
            await enqueue_many(conn, out)
            done += 1
    return done


async def holds_page(
    pool: asyncpg.Pool, user_id: str, *, status: str | None, limit: int, before_seq: int | None
) -> tuple[list[HoldRow], int | None]:
    async with pool.acquire() as conn:
        rows = await repository.list_holds(
            conn, user_id, status=status, limit=limit + 1, before_seq=before_seq
        )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None


async def get_hold(pool: asyncpg.Pool, hold_id: uuid.UUID, principal: Principal) -> HoldRow:
    async with pool.acquire() as conn:
        return await _visible(conn, hold_id, principal)
