"""The lots' SQL: creating lots, locking the ones a write consumes, reading balances and lists.

Locks are always taken in one statement ordered by (user_id, id): every writer that locks lots
(spend batches, holds, captures, refunds, voids, the expiry job) takes them in that one order,
so two writers never wait for each other in a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from paystream.ledger.books.domain import ISSUANCE, Tx, user_account
from paystream.ledger.lots.domain import Lot
from paystream.shared.db import Connection
from paystream.shared.values import checked_frozen

_LOT = "id, user_id, unit, credits, remaining, held, effective_at, expires_at, priority, cost_minor"


def _lot(r: asyncpg.Record) -> Lot:
    return Lot(
        id=r["id"],
        user_id=r["user_id"],
        unit=r["unit"],
        credits=r["credits"],
        remaining=r["remaining"],
        held=r["held"],
        effective_at=r["effective_at"],
        expires_at=r["expires_at"],
        priority=r["priority"],
        cost_minor=r["cost_minor"],
    )


@checked_frozen
class NewLot:
    id: uuid.UUID
    user_id: str
    unit: str
    source: str
    credits: int
    effective_at: datetime
    expires_at: datetime | None
    validity_rule: str
    priority: int
    cost_minor: int
    cost_currency: str | None
    order_id: str | None
    order_line: int | None
    transaction_id: uuid.UUID
    created_at: datetime


async def ensure_units(conn: Connection, units: Sequence[str]) -> None:
    await conn.execute(
        "INSERT INTO units (name) SELECT * FROM unnest($1::text[]) ON CONFLICT (name) DO NOTHING",
        sorted(set(units)),
    )


async def known_units(conn: Connection) -> set[str]:
    return {r["name"] for r in await conn.fetch("SELECT name FROM units")}


def _lot_columns(lots: Sequence[NewLot]) -> list[list[object]]:
    """The columns `insert_lots` and `insert_granted` send of new lots, as their first 14
    parameters ($1..$14), in this order."""
    return [
        [x.id for x in lots],
        [x.user_id for x in lots],
        [x.unit for x in lots],
        [x.source for x in lots],
        [x.credits for x in lots],
        [x.effective_at for x in lots],
        [x.expires_at for x in lots],
        [x.validity_rule for x in lots],
        [x.priority for x in lots],
        [x.cost_minor for x in lots],
        [x.cost_currency for x in lots],
        [x.order_id for x in lots],
        [x.order_line for x in lots],
        [x.transaction_id for x in lots],
    ]


async def insert_lots(conn: Connection, lots: Sequence[NewLot]) -> set[uuid.UUID]:
    """Insert lots; an order line already granted is skipped. Returns the ids inserted."""
    rows = await conn.fetch(
        """
        INSERT INTO lots (id, user_id, unit, source, credits, remaining, effective_at,
                          expires_at, validity_rule, priority, cost_minor, cost_currency,
                          order_id, order_line, transaction_id, created_at)
        SELECT l.id, l.user_id, l.unit, l.source, l.credits, l.credits, l.effective_at,
               l.expires_at, l.validity_rule, l.priority, l.cost_minor, l.cost_currency,
               l.order_id, l.order_line, l.transaction_id, l.created_at
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                    $6::timestamptz[], $7::timestamptz[], $8::text[], $9::smallint[],
                    $10::bigint[], $11::text[], $12::text[], $13::int[], $14::uuid[],
                    $15::timestamptz[])
             WITH ORDINALITY AS l (id, user_id, unit, source, credits, effective_at,
                                   expires_at, validity_rule, priority, cost_minor,
                                   cost_currency, order_id, order_line, transaction_id,
                                   created_at, n)
        ORDER BY l.n
        ON CONFLICT (order_id, order_line) WHERE order_id IS NOT NULL DO NOTHING
        RETURNING id
        """,
        *_lot_columns(lots),
        [x.created_at for x in lots],
    )
    return {r["id"] for r in rows}


_UNWRITTEN = (None,) * 7


def _whole_grant(lot: NewLot, tx: Tx, at: datetime) -> bool:
    """Whether `insert_granted` writes all of `tx`: the grant of `lot`, at `at`."""
    return (
        tx.kind == "grant"
        and tx.id == lot.transaction_id
        and tx.at == lot.created_at == at
        and (tx.user_id, tx.unit, tx.credits) == (lot.user_id, lot.unit, lot.credits)
        and not tx.lots
        and (
            tx.idempotency_key,
            tx.request_hash,
            tx.refund_key,
            tx.hold_id,
            tx.actor,
            tx.cost_minor,
            tx.cost_currency,
        )
        == _UNWRITTEN
    )


async def insert_granted(conn: Connection, granted: Sequence[tuple[NewLot, Tx]]) -> set[uuid.UUID]:
    """Insert lots with their grant transactions and those transactions' postings, in ONE
    statement: what `insert_lots` and then `books.write` write for grants (a grant moves no
    lot entry: it is its lot), in one round trip and without sending the postings, which
    follow from the transactions (`Tx.postings`: the user's account +credits, issuance
    -credits). A lot of an order line already granted is skipped with its transaction and
    postings. Returns the ids of the lots inserted."""
    if not granted:
        return set()
    at = granted[0][1].at
    if not all(_whole_grant(lot, tx, at) for lot, tx in granted):
        raise ValueError("insert_granted writes new lots' grant transactions, of one time, only")
    lots = [lot for lot, _ in granted]
    txs = [tx for _, tx in granted]
    rows = await conn.fetch(
        """
        WITH g AS (
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                 $6::timestamptz[], $7::timestamptz[], $8::text[],
                                 $9::smallint[], $10::bigint[], $11::text[], $12::text[],
                                 $13::int[], $14::uuid[], $15::bigint[], $16::text[],
                                 $17::uuid[], $18::bigint[], $19::text[], $23::text[])
                 WITH ORDINALITY AS g (id, user_id, unit, source, credits, effective_at,
                                       expires_at, validity_rule, priority, cost_minor,
                                       cost_currency, order_id, order_line, transaction_id,
                                       balance_after, reason, event_id, paid_minor,
                                       paid_currency, tx_order_id, n)
        ), l AS (
            INSERT INTO lots (id, user_id, unit, source, credits, remaining, effective_at,
                              expires_at, validity_rule, priority, cost_minor, cost_currency,
                              order_id, order_line, transaction_id, created_at)
            SELECT id, user_id, unit, source, credits, credits, effective_at, expires_at,
                   validity_rule, priority, cost_minor, cost_currency, order_id, order_line,
                   transaction_id, $20
            FROM g ORDER BY n
            ON CONFLICT (order_id, order_line) WHERE order_id IS NOT NULL DO NOTHING
            RETURNING id
        ), t AS (
            INSERT INTO transactions (id, kind, user_id, unit, credits, balance_after,
                                      created_at, reason, order_id, event_id, paid_minor,
                                      paid_currency)
            SELECT g.transaction_id, 'grant', g.user_id, g.unit, g.credits, g.balance_after,
                   $20, g.reason, g.tx_order_id, g.event_id, g.paid_minor, g.paid_currency
            FROM g JOIN l ON l.id = g.id ORDER BY g.n
            RETURNING id, user_id, credits
        ), p AS (
            INSERT INTO postings (transaction_id, account_id, amount)
            SELECT id, $21 || user_id, credits FROM t
            UNION ALL
            SELECT id, $22, -credits FROM t
        )
        SELECT id FROM l
        """,
        *_lot_columns(lots),
        [t.balance_after for t in txs],
        [t.reason for t in txs],
        [t.event_id for t in txs],
        [t.paid_minor for t in txs],
        [t.paid_currency for t in txs],
        at,
        user_account(""),
        ISSUANCE,
        # A rollover lot belongs to no order line; its transaction names the order.
        [t.order_id for t in txs],
    )
    return {r["id"] for r in rows}


# One probe of lots_order_line_key per order (OFFSET 0 keeps the sub-select a per-row sub-plan),
# whatever the statistics say: as `order_id = ANY($1)`, a young table without statistics was
# read whole for every grant batch.
GRANTED_ORDERS = """
SELECT k.order_id FROM unnest($1::text[]) AS k(order_id)
WHERE EXISTS (
    SELECT 1 FROM lots WHERE lots.order_id = k.order_id AND lots.order_id IS NOT NULL OFFSET 0
)
"""


async def granted_order_lines(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    """The orders among these that already have lots."""
    rows = await conn.fetch(GRANTED_ORDERS, sorted(set(order_ids)))
    return {r["order_id"] for r in rows}


async def lock_live(conn: Connection, pairs: Sequence[tuple[str, str]], at: datetime) -> list[Lot]:
    """Lock the live lots with credits of these (user, unit) pairs, in the one lock order."""
    rows = await conn.fetch(
        f"""
        SELECT {_LOT} FROM lots
        WHERE (user_id, unit) IN (SELECT * FROM unnest($1::text[], $2::text[]))
          AND has_credits AND effective_at <= $3 AND (expires_at IS NULL OR expires_at > $3)
        ORDER BY user_id, id
        FOR UPDATE
        """,
        [u for u, _ in pairs],
        [n for _, n in pairs],
        at,
    )
    return [_lot(r) for r in rows]


async def lock_with_credits(
    conn: Connection, user_ids: Sequence[str], unit: str | None = None
) -> list[Lot]:
    """Lock every lot with credits of these users (live or not), in the one lock order."""
    rows = await conn.fetch(
        f"""
        SELECT {_LOT} FROM lots
        WHERE user_id = ANY($1::text[]) AND has_credits AND ($2::text IS NULL OR unit = $2)
        ORDER BY user_id, id
        FOR UPDATE
        """,
        sorted(set(user_ids)),
        unit,
    )
    return [_lot(r) for r in rows]


async def lock_lots(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Lot]:
    rows = await conn.fetch(
        f"SELECT {_LOT} FROM lots WHERE id = ANY($1::uuid[]) ORDER BY user_id, id FOR UPDATE",
        list(ids),
    )
    return [_lot(r) for r in rows]


async def with_credits(conn: Connection, user_id: str, unit: str | None = None) -> list[Lot]:
    """A user's lots that still have credits (unlocked: for reads)."""
    rows = await conn.fetch(
        f"SELECT {_LOT} FROM lots WHERE user_id = $1 AND has_credits"
        " AND ($2::text IS NULL OR unit = $2)",
        user_id,
        unit,
    )
    return [_lot(r) for r in rows]


async def available_of(
    conn: Connection, pairs: Sequence[tuple[str, str]], at: datetime
) -> dict[tuple[str, str], int]:
    """Available credits (live, not held) per (user, unit)."""
    # One index probe per pair (a per-row sub-plan), whatever the statistics say. As a join
    # (`(user_id, unit) IN (SELECT * FROM unnest(...))`), the plan a connection cached while
    # the table was young read every lot for each batch.
    rows = await conn.fetch(
        """
        SELECT k.user_id, k.unit, a.available
        FROM unnest($1::text[], $2::text[]) AS k(user_id, unit)
        CROSS JOIN LATERAL (
            SELECT sum(remaining - held)::bigint AS available FROM lots
            WHERE lots.user_id = k.user_id AND lots.unit = k.unit AND has_credits
              AND effective_at <= $3 AND (expires_at IS NULL OR expires_at > $3)
            OFFSET 0
        ) a
        WHERE a.available IS NOT NULL
        """,
        [u for u, _ in pairs],
        [n for _, n in pairs],
        at,
    )
    found = {(r["user_id"], r["unit"]): int(r["available"]) for r in rows}
    return {p: found.get(p, 0) for p in pairs}


async def units_of(conn: Connection, user_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT unit FROM lots WHERE user_id = $1 ORDER BY unit", user_id
    )
    return [r["unit"] for r in rows]


async def lots_at(conn: Connection, user_id: str, unit: str | None, at: datetime) -> list[Lot]:
    """A user's lots as they were at `at`: those granted by then, with their remaining and held
    credits from the entries up to then."""
    rows = await conn.fetch(
        """
        SELECT l.id, l.user_id, l.unit, l.credits,
               (l.credits + coalesce(e.delta, 0))::bigint AS remaining,
               coalesce(e.held, 0)::bigint AS held,
               l.effective_at, l.expires_at, l.priority, l.cost_minor
        FROM lots l
        LEFT JOIN LATERAL (
            SELECT sum(delta) AS delta, sum(held_delta) AS held
            FROM lot_entries WHERE lot_id = l.id AND at <= $3
        ) e ON true
        WHERE l.user_id = $1 AND ($2::text IS NULL OR l.unit = $2) AND l.created_at <= $3
        """,
        user_id,
        unit,
        at,
    )
    return [_lot(r) for r in rows]


# ---- listing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LotRow:
    seq: int
    id: uuid.UUID
    user_id: str
    unit: str
    source: str
    credits: int
    remaining: int
    held: int
    effective_at: datetime
    expires_at: datetime | None
    validity_rule: str
    priority: int
    cost_minor: int
    cost_currency: str | None
    order_id: str | None
    transaction_id: uuid.UUID
    created_at: datetime
    expired: int
    expired_at: datetime | None
    voided_at: datetime | None
    status: str
    consumed: int
    voided: int
    revoked: int


# A lot's status at a moment: voided; expired (its expiry passed while it had credits);
# consumed (nothing left); scheduled (not effective yet); else active.
_STATUS = """
    CASE WHEN l.voided_at IS NOT NULL THEN 'voided'
         WHEN l.expires_at <= $2 AND (l.remaining > 0 OR l.expired > 0) THEN 'expired'
         WHEN l.remaining = 0 THEN 'consumed'
         WHEN l.effective_at > $2 THEN 'scheduled'
         ELSE 'active' END
"""


async def list_lots(
    conn: Connection,
    user_id: str,
    at: datetime,
    *,
    unit: str | None,
    status: str | None,
    limit: int,
    before_seq: int | None,
) -> list[LotRow]:
    """A user's lots, newest first, with their status at `at` and what each became."""
    rows = await conn.fetch(
        f"""
        SELECT * FROM (
            SELECT l.seq, l.id, l.user_id, l.unit, l.source, l.credits, l.remaining, l.held,
                   l.effective_at, l.expires_at, l.validity_rule, l.priority, l.cost_minor,
                   l.cost_currency, l.order_id, l.transaction_id, l.created_at, l.expired,
                   l.expired_at, l.voided_at, {_STATUS} AS status
            FROM lots l
            WHERE l.user_id = $1 AND ($3::text IS NULL OR l.unit = $3)
              AND ($5::bigint IS NULL OR l.seq < $5)
        ) s
        WHERE $4::text IS NULL OR s.status = $4
        ORDER BY s.seq DESC
        LIMIT $6
        """,
        user_id,
        at,
        unit,
        status,
        before_seq,
        limit,
    )
    if not rows:
        return []
    moved = await conn.fetch(
        """
        SELECT lot_id, kind, sum(-delta)::bigint AS n FROM lot_entries
        WHERE lot_id = ANY($1::uuid[]) AND delta < 0 GROUP BY lot_id, kind
        """,
        [r["id"] for r in rows],
    )
    by_lot: dict[uuid.UUID, dict[str, int]] = {}
    for m in moved:
        by_lot.setdefault(m["lot_id"], {})[m["kind"]] = int(m["n"])
    out = []
    for r in rows:
        kinds = by_lot.get(r["id"], {})
        out.append(
            LotRow(
                **{k: r[k] for k in r.keys()},  # noqa: SIM118 - asyncpg Records need keys()
                consumed=kinds.get("spend", 0) + kinds.get("capture", 0),
                voided=kinds.get("void", 0),
                revoked=kinds.get("revoke", 0),
            )
        )
    return out


# ---- expiry ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    id: uuid.UUID
    user_id: str
    unit: str
    credits: int
    remaining: int
    held: int
    expires_at: datetime
    cost_minor: int
    cost_currency: str | None


def _expiring(r: asyncpg.Record) -> ExpiringLot:
    return ExpiringLot(
        id=r["id"],
        user_id=r["user_id"],
        unit=r["unit"],
        credits=r["credits"],
        remaining=r["remaining"],
        held=r["held"],
        expires_at=r["expires_at"],
        cost_minor=r["cost_minor"],
        cost_currency=r["cost_currency"],
    )


@dataclass(frozen=True, slots=True)
class EndedAllowance:
    """A plan's allowance lot that ends where a new period of the plan begins: what it had
    left when it expired (`expired`, once the expiry was written) or has left now."""

    id: uuid.UUID
    user_id: str
    unit: str
    credits: int
    remaining: int
    held: int
    effective_at: datetime
    expires_at: datetime
    expired_at: datetime | None
    expired: int
    cost_minor: int
    cost_currency: str | None


async def lock_ended_allowances(
    conn: Connection, ends: Sequence[tuple[str, str, datetime]]
) -> list[EndedAllowance]:
    """The plan allowance lots (not voided) of these (user, unit) pairs that expire exactly at
    the given time, locked in the one lock order."""
    rows = await conn.fetch(
        """
        SELECT id, user_id, unit, credits, remaining, held, effective_at, expires_at, expired_at,
               expired, cost_minor, cost_currency
        FROM lots
        WHERE (user_id, unit, expires_at) IN
              (SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]))
          AND source = 'plan_allowance' AND voided_at IS NULL
        ORDER BY user_id, id
        FOR UPDATE
        """,
        [u for u, _, _ in ends],
        [n for _, n, _ in ends],
        [t for _, _, t in ends],
    )
    return [
        EndedAllowance(
            id=r["id"],
            user_id=r["user_id"],
            unit=r["unit"],
            credits=r["credits"],
            remaining=r["remaining"],
            held=r["held"],
            effective_at=r["effective_at"],
            expires_at=r["expires_at"],
            expired_at=r["expired_at"],
            expired=r["expired"],
            cost_minor=r["cost_minor"],
            cost_currency=r["cost_currency"],
        )
        for r in rows
    ]


async def lock_expired(conn: Connection, at: datetime, limit: int) -> list[ExpiringLot]:
    """Lots whose expiry passed with credits left that the job has not expired, without credits
    held by open holds (those wait until the holds end), locked, skipping lots another writer
    holds. A lot used up or voided before its expiry has nothing to expire and is never here."""
    rows = await conn.fetch(
        """
        SELECT id, user_id, unit, credits, remaining, held, expires_at, cost_minor,
               cost_currency
        FROM lots
        WHERE expires_at IS NOT NULL AND expired_at IS NULL AND has_credits
          AND expires_at <= $1 AND held = 0
        ORDER BY user_id, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        at,
        limit,
    )
    return [_expiring(r) for r in rows]


async def mark_expired(
    conn: Connection, settled: Sequence[tuple[uuid.UUID, int]], at: datetime
) -> None:
    """Record that the expiry of these lots was written, and what expired."""
    await conn.execute(
        """
        UPDATE lots AS l SET expired_at = $3, expired = d.n
        FROM unnest($1::uuid[], $2::bigint[]) AS d (id, n) WHERE l.id = d.id
        """,
        [i for i, _ in settled],
        [n for _, n in settled],
        at,
    )


async def expiring_between(
    conn: Connection, after: datetime, until: datetime, notice: str, limit: int
) -> list[ExpiringLot]:
    """Live lots with credits available that expire in (after, until] and have not had this
    notice."""
    rows = await conn.fetch(
        """
        SELECT id, user_id, unit, credits, remaining, held, expires_at, cost_minor,
               cost_currency
        FROM lots l
        WHERE expires_at > $1 AND expires_at <= $2 AND expired_at IS NULL
          AND voided_at IS NULL AND remaining > held
          AND NOT EXISTS (SELECT 1 FROM lot_notices n WHERE n.lot_id = l.id AND n.notice = $3)
        ORDER BY expires_at, id
        LIMIT $4
        """,
        after,
        until,
        notice,
        limit,
    )
    return [_expiring(r) for r in rows]


async def record_notices(
    conn: Connection, notices: Sequence[tuple[uuid.UUID, str]], at: datetime
) -> set[tuple[uuid.UUID, str]]:
    rows = await conn.fetch(
        """
        INSERT INTO lot_notices (lot_id, notice, sent_at)
        SELECT l, n, $3 FROM unnest($1::uuid[], $2::text[]) AS x (l, n)
        ON CONFLICT (lot_id, notice) DO NOTHING
        RETURNING lot_id, notice
        """,
        [lot for lot, _ in notices],
        [n for _, n in notices],
        at,
    )
    return {(r["lot_id"], r["notice"]) for r in rows}


# ---- voids --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LotFacts:
    id: uuid.UUID
    user_id: str
    unit: str
    remaining: int
    held: int
    effective_at: datetime
    expires_at: datetime | None
    cost_minor: int
    cost_currency: str | None
    credits: int
    voided_at: datetime | None
    expired_at: datetime | None


async def lock_lot(conn: Connection, lot_id: uuid.UUID) -> LotFacts | None:
    r = await conn.fetchrow(
        """
        SELECT id, user_id, unit, remaining, held, effective_at, expires_at, cost_minor,
               cost_currency, credits, voided_at, expired_at
        FROM lots WHERE id = $1 FOR UPDATE
        """,
        lot_id,
    )
    if r is None:
        return None
    return LotFacts(**{k: r[k] for k in r.keys()})  # noqa: SIM118 - asyncpg Records


async def mark_voided(conn: Connection, lot_id: uuid.UUID, at: datetime) -> None:
    await conn.execute("UPDATE lots SET voided_at = $2 WHERE id = $1", lot_id, at)
