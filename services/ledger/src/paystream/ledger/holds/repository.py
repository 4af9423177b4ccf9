"""The holds' SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from paystream.shared.db import Connection


@dataclass(frozen=True, slots=True)
class HoldRow:
    seq: int
    id: uuid.UUID
    user_id: str
    unit: str
    credits: int
    captured: int
    released: int
    status: str
    reason: str
    expires_at: datetime
    idempotency_key: str
    request_hash: str
    transaction_id: uuid.UUID
    created_at: datetime
    settled_at: datetime | None
    # In the order the hold took them (consumption order).
    allocations: tuple[tuple[uuid.UUID, int], ...]


_COLUMNS = (
    "seq, id, user_id, unit, credits, captured, released, status, reason, expires_at,"
    " idempotency_key, request_hash, transaction_id, created_at, settled_at"
)


async def _with_allocations(conn: Connection, rows: Sequence[asyncpg.Record]) -> list[HoldRow]:
    if not rows:
        return []
    allocs = await conn.fetch(
        "SELECT hold_id, lot_id, credits FROM hold_allocations WHERE hold_id = ANY($1::uuid[])"
        " ORDER BY hold_id, position",
        [r["id"] for r in rows],
    )
    by_hold: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = {}
    for a in allocs:
        by_hold.setdefault(a["hold_id"], []).append((a["lot_id"], a["credits"]))
    return [
        HoldRow(**{k: r[k] for k in r.keys()}, allocations=tuple(by_hold.get(r["id"], ())))  # noqa: SIM118
        for r in rows
    ]


async def get(conn: Connection, hold_id: uuid.UUID, *, lock: bool = False) -> HoldRow | None:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM holds WHERE id = $1{' FOR UPDATE' if lock else ''}", hold_id
    )
    found = await _with_allocations(conn, rows)
    return found[0] if found else None


async def find_by_key(conn: Connection, user_id: str, key: str) -> HoldRow | None:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM holds WHERE user_id = $1 AND idempotency_key = $2",
        user_id,
        key,
    )
    found = await _with_allocations(conn, rows)
    return found[0] if found else None


async def insert(
    conn: Connection,
    *,
    id: uuid.UUID,
    user_id: str,
    unit: str,
    credits: int,
    reason: str,
    expires_at: datetime,
    idempotency_key: str,
    request_hash: str,
    transaction_id: uuid.UUID,
    created_at: datetime,
    allocations: Sequence[tuple[uuid.UUID, int]],
) -> None:
    await conn.execute(
        """
        INSERT INTO holds (id, user_id, unit, credits, status, reason, expires_at,
                           idempotency_key, request_hash, transaction_id, created_at)
        VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10)
        """,
        id,
        user_id,
        unit,
        credits,
        reason,
        expires_at,
        idempotency_key,
        request_hash,
        transaction_id,
        created_at,
    )
    await conn.execute(
        """
        INSERT INTO hold_allocations (hold_id, lot_id, position, credits)
        SELECT $1, lot, pos, n
        FROM unnest($2::uuid[], $3::bigint[]) WITH ORDINALITY AS a (lot, n, pos)
        """,
        id,
        [lot for lot, _ in allocations],
        [n for _, n in allocations],
    )


async def settle(
    conn: Connection,
    hold_id: uuid.UUID,
    *,
    status: str,
    captured: int,
    released: int,
    at: datetime,
) -> None:
    await conn.execute(
        "UPDATE holds SET status = $2, captured = $3, released = $4, settled_at = $5"
        " WHERE id = $1 AND status = 'open'",
        hold_id,
        status,
        captured,
        released,
        at,
    )


async def overdue(conn: Connection, at: datetime, limit: int) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT id FROM holds WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at"
        " LIMIT $2",
        at,
        limit,
    )
    return [r["id"] for r in rows]


async def list_holds(
    conn: Connection, user_id: str, *, status: str | None, limit: int, before_seq: int | None
) -> list[HoldRow]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM holds
        WHERE user_id = $1 AND ($2::text IS NULL OR status = $2)
          AND ($3::bigint IS NULL OR seq < $3)
        ORDER BY seq DESC LIMIT $4
        """,
        user_id,
        status,
        before_seq,
        limit,
    )
    return await _with_allocations(conn, rows)
