"""Lots: granted for paid orders (once per order line, with a plan's rollover), granted and voided
by operators, and read as balances and lists.

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
from paystream.ledger.expiry.service import expiry_tx
from paystream.ledger.journal import events
from paystream.ledger.journal.events import Keyed
from paystream.ledger.lots import repository
from paystream.ledger.lots.domain import (
    InvalidValidity,
    Lot,
    UnitBalance,
    balance_of,
    carry_of,
    expiry_of,
)
from paystream.ledger.lots.repository import LotRow, NewLot
from paystream.ledger.thresholds.service import after_change
from paystream.shared import outbox
from paystream.shared.clock import Clock, OffsetClock
from paystream.shared.db import Connection, overlapping, transaction
from paystream.shared.events import DEFAULT_UNIT, InvalidEvent, OrderPaidV1
from paystream.shared.outbox import enqueue_many
from paystream.shared.values import checked_frozen

GRANT_REASON = "purchase"
ROLLOVER_REASON = "rollover"
# A plan's allowance for these periods follows an allowance of the same subscription, whose
# leftover may carry over; a first period (`subscription`) or an upgrade follows none.
_CONTINUING = frozenset({"renewal", "allowance"})


def sandbox_offset(clock: Clock) -> timedelta:
    return clock.offset if isinstance(clock, OffsetClock) else timedelta(0)


@dataclass(frozen=True, slots=True)
class Rollover:
    """A plan's new period may carry over what the period ending at `ended_at` left of its
    allowance, up to `cap`."""

    cap: int
    ended_at: datetime


@checked_frozen
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
    rollover: Rollover | None = None
    # The provider's payment OrderPaidV1 recorded: a refund of another one leaves the grant.
    provider_payment_id: str | None = None


def _rollover(paid: OrderPaidV1) -> Rollover | None:
    plan = paid.plan
    if plan is None or not plan.rollover_cap or plan.kind not in _CONTINUING:
        return None
    return Rollover(plan.rollover_cap, plan.period_start)


def order_grants(event_id: uuid.UUID, paid: OrderPaidV1) -> list[OrderGrant]:
    rollover = _rollover(paid)
    first_allowance = next(
        (i for i, g in enumerate(paid.grants) if g.source == "plan_allowance"), None
    )
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
            rollover=rollover if i == first_allowance else None,
            provider_payment_id=paid.provider_payment_id,
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
    rolled = await _roll_over(conn, fresh, lots, running, now)
    txs: list[Tx] = [tx for tx, _ in rolled.expiries]
    out: list[Keyed] = [events.expired(tx, expires_at) for tx, expires_at in rolled.expiries]
    new_lots: list[NewLot] = []
    granted: list[tuple[Tx, NewLot, str | None]] = []
    for i, (g, lot) in enumerate(zip(fresh, lots, strict=True)):
        for new, reason in ((rolled.carried.get(i), ROLLOVER_REASON), (lot, None)):
            if new is None:
                continue
            key = (new.user_id, new.unit)
            if new.effective_at <= now and (new.expires_at is None or now < new.expires_at):
                running[key] += new.credits
            tx = Tx(
                id=new.transaction_id,
                kind="grant",
                user_id=new.user_id,
                unit=new.unit,
                credits=new.credits,
                balance_after=running[key],
                at=now,
                reason=reason or (GRANT_REASON if g.source == "purchase" else g.source),
                order_id=g.order_id,
                event_id=g.event_id,
                # A carry is paid for by nobody: the credits were paid with the ended period.
                paid_minor=g.paid_minor if reason is None else 0,
                paid_currency=g.paid_currency,
            )
            txs.append(tx)
            new_lots.append(new)
            granted.append((tx, new, g.provider_payment_id))
    if rolled.expiries:
        # The ended allowances' expiries first (their entries move those lots), as they come
        # first in the history.
        await books.write(conn, [tx for tx, _ in rolled.expiries])
    # One statement writes the lots, their transactions and postings; the events are built and
    # serialized while PostgreSQL runs it: they cost the consumer about as much CPU as the
    # statement takes, and depend only on what was decided above.
    inserted, prepared = await overlapping(
        repository.insert_granted(conn, [(new, tx) for tx, new, _ in granted]),
        lambda: outbox.prepare(
            [
                *out,
                *(events.granted_encoded(tx, new, provider_payment_id=p) for tx, new, p in granted),
            ]
        ),
    )
    if len(inserted) != len(new_lots):
        raise ConcurrentGrant(f"{len(new_lots) - len(inserted)} order line(s) granted concurrently")
    if rolled.expiries:
        settled = [(tx.lots[0][0], tx.credits) for tx, _ in rolled.expiries]
        await repository.mark_expired(conn, settled, now)
    low = await after_change(conn, running, now)
    await outbox.enqueue_prepared(conn, prepared + outbox.prepare(low))
    return [tx for tx in txs if tx.kind == "grant"]


@dataclass(frozen=True, slots=True)
class _Rolled:
    # The ended allowance lots whose expiry this grant writes (with their expires_at).
    expiries: list[tuple[Tx, datetime]]
    # The rollover lot granted before the allowance lot of `fresh[i]`.
    carried: dict[int, NewLot]


async def _roll_over(
    conn: Connection,
    fresh: Sequence[OrderGrant],
    lots: Sequence[NewLot],
    running: dict[tuple[str, str], int],
    now: datetime,
) -> _Rolled:
    """A plan's new allowance with a rollover cap ends the allowance of the period before it:
    what those lots left carries over, up to the cap, as a `rollover` lot expiring with the new
    allowance.

    What they left is read from the lots, not guessed from the clock: the expired count once
    the expiry job wrote it, else what is left now, whose expiry is then written here (the new
    period began on checkout's clock, so the old allowance can no longer be spent, even if the
    ledger's clock is a moment behind). The carry is the same however late the grant comes, and
    a replayed grant is skipped with its order (`granted_order_lines`), so it never carries twice.
    `running` is updated for the expiries.
    """
    wanted = [(i, g, g.rollover) for i, g in enumerate(fresh) if g.rollover is not None]
    if not wanted:
        return _Rolled([], {})
    ended = await repository.lock_ended_allowances(
        conn, sorted({(g.user_id, g.unit, r.ended_at) for _, g, r in wanted})
    )
    left: dict[tuple[str, str, datetime], int] = {}
    expiries: list[tuple[Tx, datetime]] = []
    for lot in ended:
        key = (lot.user_id, lot.unit, lot.expires_at)
        if lot.expired_at is not None:
            left[key] = left.get(key, 0) + lot.expired
            continue
        n = lot.remaining - lot.held
        if n <= 0:
            continue
        pair = (lot.user_id, lot.unit)
        if lot.effective_at <= now < lot.expires_at:
            running[pair] -= n
        expiries.append((expiry_tx(lot, n, running[pair], now), lot.expires_at))
        left[key] = left.get(key, 0) + n
    carried: dict[int, NewLot] = {}
    for i, g, r in wanted:
        # pop: two grants ending the same period (never in practice) carry it once.
        n = carry_of(r.cap, left.pop((g.user_id, g.unit, r.ended_at), 0))
        if n == 0:
            continue
        base = lots[i]
        carried[i] = NewLot(
            id=uuid.uuid4(),
            user_id=g.user_id,
            unit=g.unit,
            source="rollover",
            credits=n,
            effective_at=base.effective_at,
            expires_at=base.expires_at,
            validity_rule=base.validity_rule,
            priority=base.priority,
            cost_minor=0,
            cost_currency=None,
            order_id=None,
            order_line=None,
            transaction_id=uuid.uuid4(),
            created_at=now,
        )
    return _Rolled(expiries, carried)


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
