"""Lots: granted for paid orders (once per order line), granted and voided by operators, and read
as balances and lists.

Grants run in the consumer's batch transaction (`grant_orders`); the operator use cases and the
reads are handed the pool and open their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from paystream.ledger.books import repository as books
from paystream.ledger.books.domain import Tx, fingerprint
from paystream.ledger.books.repository import TransactionRow
from paystream.ledger.errors import (
    ConcurrentGrant,
    IdempotencyKeyReused,
    InvalidValidityRefused,
    LotNotFound,
    LotNotVoidable,
)
from paystream.ledger.journal import events
from paystream.ledger.journal.events import Keyed
from paystream.ledger.lots import repository
from paystream.ledger.lots.domain import (
    InvalidValidity,
    Lot,
    UnitBalance,
    balance_of,
    expiry_of,
)
from paystream.ledger.lots.repository import LotRow, NewLot
from paystream.ledger.thresholds.service import after_change
from paystream.shared.clock import Clock, SandboxClock
from paystream.shared.db import Connection, transaction
from paystream.shared.events import DEFAULT_UNIT, InvalidEvent, OrderPaidV1
from paystream.shared.outbox import enqueue_many

GRANT_REASON = "purchase"


def sandbox_offset(clock: Clock) -> timedelta:
    return clock.offset if isinstance(clock, SandboxClock) else timedelta(0)


@dataclass(frozen=True, slots=True)
class OrderGrant:
    """One lot a paid order grants (one line of OrderPaidV1.grants), with the order's facts."""

    event_id: uuid.UUID
    order_id: str
    line: int
    user_id: str
    unit: str
    credits: int
    source: str
    validity: str | None
    expires_at: datetime | None
    priority: int
    cost_minor: int
    currency: str
    paid_minor: int
    paid_currency: str
    paid_at: datetime


def order_grants(event_id: uuid.UUID, paid: OrderPaidV1) -> list[OrderGrant]:
    return [
        OrderGrant(
            event_id=event_id,
            order_id=paid.order_id,
            line=i,
            user_id=paid.user_id,
            unit=g.unit,
            credits=g.quantity,
            source=g.source,
            validity=g.validity,
            expires_at=g.expires_at,
            priority=g.priority,
            cost_minor=g.cost_minor,
            currency=paid.currency,
            paid_minor=paid.paid_minor,
            paid_currency=paid.paid_currency,
            paid_at=paid.paid_at,
        )
        for i, g in enumerate(paid.grants)
    ]


async def grant_orders(conn: Connection, grants: Sequence[OrderGrant], clock: Clock) -> list[Tx]:
    """Grant each order line's lot once, set-based: a few statements whatever the batch size.

    A lot starts when the order was paid, read on the ledger's clock (in sandbox mode the
    payment time moved by the sandbox offset, so a lot bought "now" starts at the ledger's
    now), never later than now; its validity runs from there. `grants` are in record order;
    a user's balance_after values follow it.
    """
    seen: set[tuple[str, int]] = set()
    fresh: list[OrderGrant] = []
    for g in grants:
        if (g.order_id, g.line) not in seen:
            seen.add((g.order_id, g.line))
            fresh.append(g)
    already = await repository.granted_order_lines(conn, sorted({g.order_id for g in fresh}))
    fresh = [g for g in fresh if g.order_id not in already]
    if not fresh:
        return []
    now = clock.now()
    offset = sandbox_offset(clock)
    lots: list[NewLot] = []
    for g in fresh:
        start = min(g.paid_at + offset, now)
        try:
            expires_at, rule = expiry_of(start, validity=g.validity, expires_at=g.expires_at)
        except InvalidValidity as exc:
            raise InvalidEvent(f"order {g.order_id} line {g.line}: {exc}") from None
        if expires_at is not None and expires_at <= start:
            raise InvalidEvent(f"order {g.order_id} line {g.line}: expires before it starts")
        lots.append(
            NewLot(
                id=uuid.uuid4(),
                user_id=g.user_id,
                unit=g.unit,
                source=g.source,
                credits=g.credits,
                effective_at=start,
                expires_at=expires_at,
                validity_rule=rule,
                priority=g.priority,
                cost_minor=g.cost_minor,
                cost_currency=g.currency if g.cost_minor > 0 else None,
                order_id=g.order_id,
                order_line=g.line,
                transaction_id=uuid.uuid4(),
                created_at=now,
            )
        )
    await repository.ensure_units(conn, [x.unit for x in lots])
    await books.ensure_user_accounts(conn, [x.user_id for x in lots])
    pairs = sorted({(x.user_id, x.unit) for x in lots})
    running = await repository.available_of(conn, pairs, now)
    txs: list[Tx] = []
    for g, lot in zip(fresh, lots, strict=True):
        key = (lot.user_id, lot.unit)
        if lot.effective_at <= now and (lot.expires_at is None or now < lot.expires_at):
            running[key] += lot.credits
        txs.append(
            Tx(
                id=lot.transaction_id,
                kind="grant",
                user_id=lot.user_id,
                unit=lot.unit,
                credits=lot.credits,
                balance_after=running[key],
                at=now,
                reason=GRANT_REASON if g.source == "purchase" else g.source,
                order_id=g.order_id,
                event_id=g.event_id,
                paid_minor=g.paid_minor,
                paid_currency=g.paid_currency,
            )
        )
    inserted = await repository.insert_lots(conn, lots)
    if len(inserted) != len(lots):
        raise ConcurrentGrant(f"{len(lots) - len(inserted)} order line(s) granted concurrently")
    await books.write(conn, txs)
    out: list[Keyed] = [events.granted(tx, lot) for tx, lot in zip(txs, lots, strict=True)]
    out += await after_change(conn, running, now)
    await enqueue_many(conn, out)
    return txs


# ---- operators -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperatorResult:
    transaction: TransactionRow
    replayed: bool


async def _replay_or_refuse(
    conn: Connection, actor: str, key: str, request_hash: str
) -> OperatorResult | None:
    # Serializes requests of one operator key: the second finds the first's transaction.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{actor}|{key}")
    previous = await books.find_by_actor_key(conn, actor, key)
    if previous is None:
        return None
    if previous.request_hash != request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    return OperatorResult(previous, replayed=True)


async def operator_grant(
    pool: asyncpg.Pool,
    clock: Clock,
    *,
    user_id: str,
    unit: str,
    credits: int,
    source: str,
    validity: str | None,
    expires_at: datetime | None,
    priority: int,
    reason: str,
    actor: str,
    idempotency_key: str,
) -> OperatorResult:
    """An operator grants a lot (a promotion or an adjustment), once per Idempotency-Key."""
    request_hash = fingerprint(
        op="grant",
        user_id=user_id,
        unit=unit,
        credits=credits,
        source=source,
        validity=validity,
        expires_at=expires_at.isoformat() if expires_at else None,
        priority=priority,
        reason=reason,
    )
    async with transaction(pool) as conn:
        replay = await _replay_or_refuse(conn, actor, idempotency_key, request_hash)
        if replay is not None:
            return replay
        now = clock.now()
        try:
            lot_expiry, rule = expiry_of(now, validity=validity, expires_at=expires_at)
        except InvalidValidity as exc:
            raise InvalidValidityRefused(str(exc)) from None
        lot = NewLot(
            id=uuid.uuid4(),
            user_id=user_id,
            unit=unit,
            source=source,
            credits=credits,
            effective_at=now,
            expires_at=lot_expiry,
            validity_rule=rule,
            priority=priority,
            cost_minor=0,
            cost_currency=None,
            order_id=None,
            order_line=None,
            transaction_id=uuid.uuid4(),
            created_at=now,
        )
        await repository.ensure_units(conn, [unit])
        await books.ensure_user_accounts(conn, [user_id])
        pair = (user_id, unit)
        available = (await repository.available_of(conn, [pair], now))[pair] + credits
        tx = Tx(
            id=lot.transaction_id,
            kind="adjustment",
            user_id=user_id,
            unit=unit,
            credits=credits,
            balance_after=available,
            at=now,
            reason=reason,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            actor=actor,
        )
        await repository.insert_lots(conn, [lot])
        await books.write(conn, [tx])
        out = [events.granted(tx, lot), *await after_change(conn, {pair: available}, now)]
        await enqueue_many(conn, out)
        (row,) = await books.find(conn, [tx.id])
    return OperatorResult(row, replayed=False)


async def operator_void(
    pool: asyncpg.Pool,
    clock: Clock,
    *,
    lot_id: uuid.UUID,
    reason: str,
    actor: str,
    idempotency_key: str,
) -> OperatorResult:
    """An operator voids what is left of a lot, once per Idempotency-Key."""
    request_hash = fingerprint(op="void", lot_id=str(lot_id), reason=reason)
    async with transaction(pool) as conn:
        replay = await _replay_or_refuse(conn, actor, idempotency_key, request_hash)
        if replay is not None:
            return replay
        lot = await repository.lock_lot(conn, lot_id)
        if lot is None:
            raise LotNotFound(f"no lot {lot_id}")
        now = clock.now()
        live = lot.effective_at <= now and (lot.expires_at is None or now < lot.expires_at)
        if lot.voided_at is not None or not live or lot.remaining == 0:
            raise LotNotVoidable(
                "only a lot that still counts and has credits can be voided",
                details={"lot_id": str(lot_id)},
            )
        if lot.held:
            raise LotNotVoidable(
                f"{lot.held} credits of this lot are held by an open hold: capture or release"
                " it first",
                details={"lot_id": str(lot_id), "held": lot.held},
            )
        pair = (lot.user_id, lot.unit)
        available = (await repository.available_of(conn, [pair], now))[pair] - lot.remaining
        tx = Tx(
            id=uuid.uuid4(),
            kind="void",
            user_id=lot.user_id,
            unit=lot.unit,
            credits=lot.remaining,
            balance_after=available,
            at=now,
            reason=reason,
            lots=((lot.id, lot.remaining),),
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            actor=actor,
            cost_minor=lot.cost_minor * lot.remaining // lot.credits,
            cost_currency=lot.cost_currency,
        )
        await books.write(conn, [tx])
        await repository.mark_voided(conn, lot.id, now)
        out = [events.voided(tx), *await after_change(conn, {pair: available}, now)]
        await enqueue_many(conn, out)
        (row,) = await books.find(conn, [tx.id])
    return OperatorResult(row, replayed=False)


# ---- reads ------------------------------------------------------------------------------------


def _balances(lots: Iterable[Lot], units: Iterable[str], at: datetime) -> list[UnitBalance]:
    by_unit: dict[str, list[Lot]] = {u: [] for u in units}
    for lot in lots:
        by_unit.setdefault(lot.unit, []).append(lot)
    return [balance_of(u, by_unit[u], at) for u in sorted(by_unit)]


async def balances(
    pool: asyncpg.Pool, user_id: str, *, unit: str | None, at: datetime, now: datetime
) -> list[UnitBalance]:
    """A user's balance per unit, now or as it was at `at`. The default unit is always shown."""
    async with pool.acquire() as conn:
        if at >= now:
            lots = await repository.with_credits(conn, user_id, unit)
        else:
            lots = await repository.lots_at(conn, user_id, unit, at)
        units = [unit] if unit else {DEFAULT_UNIT, *await repository.units_of(conn, user_id)}
    return _balances(lots, units, at)


async def lots_page(
    pool: asyncpg.Pool,
    user_id: str,
    at: datetime,
    *,
    unit: str | None,
    status: str | None,
    limit: int,
    before_seq: int | None,
) -> tuple[list[LotRow], int | None]:
    async with pool.acquire() as conn:
        rows = await repository.list_lots(
            conn, user_id, at, unit=unit, status=status, limit=limit + 1, before_seq=before_seq
        )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None
