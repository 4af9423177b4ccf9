"""USDT deposits, transfers and the watcher's cursor in PostgreSQL: named, parameterized SQL.
Takes a connection, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from paystream.checkout.usdt.domain import (
    CURRENCY,
    Cursor,
    Deposit,
    MatchWindow,
    RecordedTransfer,
    Transfer,
    TransferStatus,
    Verdict,
)
from paystream.shared.db import Connection
from paystream.shared.money import Money
from paystream.shared.pagination import KeysetCursor

# ---- deposits -------------------------------------------------------------------------------


def _deposit(row: asyncpg.Record) -> Deposit:
    return Deposit(
        id=str(row["id"]),
        order_id=str(row["order_id"]),
        user_id=row["user_id"],
        package_id=row["package_id"],
        credits=row["credits"],
        address=row["address"],
        price=Money(row["price_minor"], row["currency"]),
        amount=Money(row["amount_minor"], row["currency"]),
        offset_minor=row["offset_minor"],
        residue=row["residue"],
        modulus=row["modulus"],
        expires_at=row["expires_at"],
        status=row["status"],
        released_at=row["released_at"],
        created_at=row["created_at"],
    )


def _maybe_deposit(row: asyncpg.Record | None) -> Deposit | None:
    return None if row is None else _deposit(row)


RECLAIM_STALE = """
UPDATE usdt_deposits SET status = 'closed', close_reason = 'reclaimed', released_at = now()
WHERE address = $1 AND status = 'open' AND expires_at < now() - $2::interval
"""


async def reclaim_stale(conn: Connection, address: str, *, reclaim_after: timedelta) -> int:
    """Release open deposits long past their expiry (checkout never closed them)."""
    result: str = await conn.execute(RECLAIM_STALE, address, reclaim_after)
    return int(result.split()[-1])


RESERVED_RESIDUES = """
SELECT residue, status = 'open' AS open FROM usdt_deposits
WHERE address = $1 AND modulus = $2
  AND (status = 'open' OR released_at > now() - $3::interval)
"""


async def reserved_residues(
    conn: Connection, address: str, modulus: int, *, cooldown: timedelta
) -> tuple[set[int], set[int]]:
    """(residues of open deposits, residues of deposits released within the cooldown)."""
    rows = await conn.fetch(RESERVED_RESIDUES, address, modulus, cooldown)
    open_ = {r["residue"] for r in rows if r["open"]}
    cooling = {r["residue"] for r in rows if not r["open"]}
    return open_, cooling


GET_DEPOSIT_FOR_ORDER = "SELECT * FROM usdt_deposits WHERE order_id = $1"


async def get_deposit_for_order(conn: Connection, order_id: uuid.UUID) -> Deposit | None:
    return _maybe_deposit(await conn.fetchrow(GET_DEPOSIT_FOR_ORDER, order_id))


INSERT_DEPOSIT = """
INSERT INTO usdt_deposits (id, order_id, user_id, package_id, credits, address,
                           price_minor, offset_minor, amount_minor, modulus, residue,
                           expires_at, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open')
ON CONFLICT DO NOTHING
RETURNING *
"""


async def insert_deposit(
    conn: Connection,
    *,
    order_id: uuid.UUID,
    user_id: str,
    package_id: str | None,
    credits: int,
    address: str,
    price_minor: int,
    offset_minor: int,
    modulus: int,
    residue: int,
    expires_at: datetime,
) -> Deposit | None:
    """Reserve `price + offset`; None when an open deposit holds that amount or residue, or
    the order already has its deposit (the caller tells which)."""
    row = await conn.fetchrow(
        INSERT_DEPOSIT,
        uuid.uuid4(),
        order_id,
        user_id,
        package_id,
        credits,
        address,
        price_minor,
        offset_minor,
        price_minor + offset_minor,
        modulus,
        residue,
        expires_at,
    )
    return _maybe_deposit(row)


RELEASE_DEPOSIT = """
UPDATE usdt_deposits SET status = $2, close_reason = $3, released_at = now()
WHERE id = $1 AND status = 'open'
"""


async def release_deposit(conn: Connection, deposit_id: uuid.UUID, *, reason: str) -> bool:
    """Free an open deposit's amount; False when it was not open."""
    status = "paid" if reason == "paid" else "closed"
    result: str = await conn.execute(RELEASE_DEPOSIT, deposit_id, status, reason)
    return result.endswith(" 1")


# A late payment turns a closed deposit paid; its amount stays free.
MARK_PAID = """
UPDATE usdt_deposits
SET status = 'paid', close_reason = 'paid', released_at = COALESCE(released_at, now())
WHERE id = $1 AND status <> 'paid'
"""


async def mark_paid(conn: Connection, deposit_id: str) -> None:
    await conn.execute(MARK_PAID, uuid.UUID(deposit_id))


# The candidates `domain.match_deposit` chooses from: the newest deposit of exactly that amount
# and the newest one with that residue, in the transfer's window (the indexes on (address,
# amount_minor, created_at) and (address, modulus, residue, created_at) find each at once).
DEPOSIT_CANDIDATES = """
(SELECT * FROM usdt_deposits
 WHERE address = $1 AND amount_minor = $2
   AND created_at <= $5 AND (released_at IS NULL OR released_at > $6)
 ORDER BY created_at DESC, id DESC LIMIT 1)
UNION ALL
(SELECT * FROM usdt_deposits
 WHERE address = $1 AND modulus = $3 AND residue = $4
   AND created_at <= $5 AND (released_at IS NULL OR released_at > $6)
 ORDER BY created_at DESC, id DESC LIMIT 1)
"""


async def deposit_candidates(
    conn: Connection,
    address: str,
    *,
    amount_minor: int,
    modulus: int,
    residue: int,
    window: MatchWindow,
) -> list[Deposit]:
    rows = await conn.fetch(
        DEPOSIT_CANDIDATES,
        address,
        amount_minor,
        modulus,
        residue,
        window.created_by,
        window.released_after,
    )
    return [_deposit(r) for r in rows]


LOCK_DEPOSIT = "SELECT * FROM usdt_deposits WHERE id = $1 FOR UPDATE"


async def lock_deposit(conn: Connection, deposit_id: str) -> Deposit | None:
    """The deposit as it is now, locked until the caller's transaction ends."""
    return _maybe_deposit(await conn.fetchrow(LOCK_DEPOSIT, uuid.UUID(deposit_id)))


FIRST_DEPOSIT_AT = "SELECT min(created_at) FROM usdt_deposits WHERE address = $1"


async def first_deposit_at(conn: Connection, address: str) -> datetime | None:
    value: datetime | None = await conn.fetchval(FIRST_DEPOSIT_AT, address)
    return value


# ---- transfers ------------------------------------------------------------------------------


INSERT_TRANSFER = """
INSERT INTO usdt_transfers (id, transaction_id, event_index, from_address, to_address,
                            contract_address, amount_minor, block_number, block_timestamp,
                            status, credited, deposit_id, order_id, expected_minor, note, raw)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (transaction_id, event_index) DO NOTHING
RETURNING id
"""


async def insert_transfer(
    conn: Connection,
    transfer: Transfer,
    *,
    verdict: Verdict,
    deposit: Deposit | None,
    block_number: int | None,
) -> bool:
    """Record the transfer; False when it was recorded before (nothing else may happen then)."""
    row = await conn.fetchrow(
        INSERT_TRANSFER,
        uuid.uuid4(),
        transfer.transaction_id,
        transfer.event_index,
        transfer.from_address,
        transfer.to_address,
        transfer.contract_address,
        transfer.amount_minor,
        block_number,
        transfer.block_time,
        verdict.status.value,
        verdict.credited,
        None if deposit is None else uuid.UUID(deposit.id),
        None if deposit is None else uuid.UUID(deposit.order_id),
        None if deposit is None else deposit.amount.minor,
        verdict.note,
        transfer.raw,
    )
    return row is not None


RECORDED_EVENTS = """
SELECT transaction_id, event_index FROM usdt_transfers WHERE transaction_id = ANY($1)
"""


async def recorded_events(conn: Connection, txids: Sequence[str]) -> set[tuple[str, int]]:
    rows = await conn.fetch(RECORDED_EVENTS, list(txids))
    return {(r["transaction_id"], r["event_index"]) for r in rows}


PAYER_ADDRESSES = """
SELECT DISTINCT from_address FROM usdt_transfers WHERE order_id = $1 AND credited
ORDER BY from_address
"""


async def payer_addresses(conn: Connection, order_id: uuid.UUID) -> list[str]:
    return [r["from_address"] for r in await conn.fetch(PAYER_ADDRESSES, order_id)]


def _recorded(row: asyncpg.Record) -> RecordedTransfer:
    expected = row["expected_minor"]
    return RecordedTransfer(
        id=str(row["id"]),
        transaction_id=row["transaction_id"],
        event_index=row["event_index"],
        from_address=row["from_address"],
        to_address=row["to_address"],
        amount=Money(row["amount_minor"], row["currency"]),
        expected=None if expected is None else Money(expected, CURRENCY),
        status=TransferStatus(row["status"]),
        credited=row["credited"],
        order_id=None if row["order_id"] is None else str(row["order_id"]),
        deposit_id=None if row["deposit_id"] is None else str(row["deposit_id"]),
        block_number=row["block_number"],
        block_timestamp=row["block_timestamp"],
        note=row["note"],
        seen_at=row["seen_at"],
    )


LIST_TRANSFERS = """
SELECT * FROM usdt_transfers
WHERE ($1::text IS NULL OR status = $1)
  AND ($2::timestamptz IS NULL OR (seen_at, id) < ($2, $3::uuid))
ORDER BY seen_at DESC, id DESC
LIMIT $4
"""


async def list_transfers(
    conn: Connection,
    *,
    status: TransferStatus | None,
    before: KeysetCursor | None,
    limit: int,
) -> list[RecordedTransfer]:
    """Transfers newest first (by when the watcher recorded them), keyset on (seen_at, id)."""
    rows = await conn.fetch(
        LIST_TRANSFERS,
        None if status is None else status.value,
        None if before is None else before.at,
        None if before is None else before.id,
        limit,
    )
    return [_recorded(r) for r in rows]


# ---- the watcher's cursor -------------------------------------------------------------------


GET_CURSOR = """
SELECT min_timestamp_ms, caught_up FROM usdt_watch_cursors
WHERE address = $1 AND contract_address = $2
"""


async def get_cursor(conn: Connection, address: str, contract: str) -> Cursor | None:
    row = await conn.fetchrow(GET_CURSOR, address, contract)
    return None if row is None else Cursor(row["min_timestamp_ms"], row["caught_up"])


# Forward only: a slower replica's poll never moves the cursor back. $5 false keeps the flag.
ADVANCE_CURSOR = """
INSERT INTO usdt_watch_cursors (address, contract_address, min_timestamp_ms, caught_up)
VALUES ($1, $2, $3, $4)
ON CONFLICT (address, contract_address) DO UPDATE
SET min_timestamp_ms = GREATEST(usdt_watch_cursors.min_timestamp_ms,
                                EXCLUDED.min_timestamp_ms),
    caught_up = CASE
        WHEN $5 AND EXCLUDED.min_timestamp_ms >= usdt_watch_cursors.min_timestamp_ms
        THEN EXCLUDED.caught_up ELSE usdt_watch_cursors.caught_up END,
    updated_at = now()
"""


async def advance_cursor(
    conn: Connection, address: str, contract: str, ts_ms: int, *, caught_up: bool | None
) -> None:
    """Move the cursor forward only; `caught_up=None` keeps the flag as it is."""
    await conn.execute(
        ADVANCE_CURSOR,
        address,
        contract,
        ts_ms,
        True if caught_up is None else caught_up,
        caught_up is not None,
    )
