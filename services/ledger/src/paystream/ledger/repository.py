"""The ledger's SQL: named, parameterized queries on a connection the caller's transaction owns.

Batch statements take parallel arrays and `unnest` them, so a batch of grants costs a handful of
round trips whatever its size.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from paystream.ledger.domain import Posting
from paystream.shared.db import Connection


@dataclass(frozen=True, slots=True)
class TransactionRow:
    seq: int
    id: uuid.UUID
    kind: str
    user_id: str
    order_id: str | None
    reason: str
    credits: int
    balance_after: int
    request_hash: str | None
    created_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> TransactionRow:
        return cls(
            seq=r["seq"],
            id=r["id"],
            kind=r["kind"],
            user_id=r["user_id"],
            order_id=r["order_id"],
            reason=r["reason"],
            credits=r["credits"],
            balance_after=r["balance_after"],
            request_hash=r["request_hash"],
            created_at=r["created_at"],
        )


_TX_COLUMNS = (
    "seq, id, kind, user_id, order_id, reason, credits, balance_after, request_hash, created_at"
)


async def granted_order_ids(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT order_id FROM transactions WHERE order_id = ANY($1::text[])", list(order_ids)
    )
    return {r["order_id"] for r in rows}


async def apply_balance_deltas(conn: Connection, deltas: Mapping[str, int]) -> dict[str, int]:
    """Add each delta to its account, creating missing user accounts; return the new balances.

    For credits into user accounts (an upsert cannot take a user below zero: see
    `update_balances`). Accounts are updated in id order so concurrent batches lock rows in
    the same order and cannot deadlock.
    """
    ids = sorted(deltas)
    rows = await conn.fetch(
        """
        INSERT INTO accounts AS a (id, balance)
        SELECT * FROM unnest($1::text[], $2::bigint[])
        ON CONFLICT (id) DO UPDATE SET balance = a.balance + EXCLUDED.balance
        RETURNING id, balance
        """,
        ids,
        [deltas[i] for i in ids],
    )
    return {r["id"]: r["balance"] for r in rows}


async def update_balances(conn: Connection, deltas: Mapping[str, int]) -> dict[str, int]:
    """Add each delta to an existing account; return the new balances.

    Not an upsert: PostgreSQL checks an upsert's proposed row against the CHECK constraints
    before it finds the conflict, so a negative user delta would be refused even when the
    existing balance covers it.
    """
    ids = sorted(deltas)
    rows = await conn.fetch(
        """
        UPDATE accounts AS a SET balance = a.balance + d.delta
        FROM unnest($1::text[], $2::bigint[]) AS d (id, delta)
        WHERE a.id = d.id
        RETURNING a.id, a.balance
        """,
        ids,
        [deltas[i] for i in ids],
    )
    if len(rows) != len(ids):
        missing = set(ids) - {r["id"] for r in rows}
        raise LookupError(f"no such account(s): {sorted(missing)}")
    return {r["id"]: r["balance"] for r in rows}


async def lock_balance(conn: Connection, account_id: str) -> int | None:
    """Lock the account row until the transaction ends; None if the account does not exist."""
    value: int | None = await conn.fetchval(
        "SELECT balance FROM accounts WHERE id = $1 FOR UPDATE", account_id
    )
    return value


async def get_balance(conn: Connection, account_id: str) -> int:
    value: int | None = await conn.fetchval(
        "SELECT balance FROM accounts WHERE id = $1", account_id
    )
    return value or 0


async def insert_grants(
    conn: Connection,
    *,
    ids: Sequence[uuid.UUID],
    user_ids: Sequence[str],
    order_ids: Sequence[str],
    event_ids: Sequence[uuid.UUID],
    credits: Sequence[int],
    balances_after: Sequence[int],
    reason: str,
    created_at: datetime,
) -> int:
    """Insert grant transactions in the given order; skip orders already granted. Returns how
    many were inserted."""
    rows = await conn.fetch(
        """
        INSERT INTO transactions (id, kind, user_id, order_id, event_id, reason, credits,
                                  balance_after, created_at)
        SELECT g.id, 'grant', g.user_id, g.order_id, g.event_id, $7, g.credits, g.balance_after,
               $8
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::bigint[], $6::bigint[])
             WITH ORDINALITY AS g (id, user_id, order_id, event_id, credits, balance_after, n)
        ORDER BY g.n
        ON CONFLICT (order_id) WHERE order_id IS NOT NULL DO NOTHING
        RETURNING id
        """,
        list(ids),
        list(user_ids),
        list(order_ids),
        list(event_ids),
        list(credits),
        list(balances_after),
        reason,
        created_at,
    )
    return len(rows)


async def insert_postings(conn: Connection, entries: Sequence[tuple[uuid.UUID, Posting]]) -> None:
    """Insert postings; the database refuses any transaction whose postings do not sum to 0."""
    await conn.execute(
        """
        INSERT INTO postings (transaction_id, account_id, amount)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])
        """,
        [tx for tx, _ in entries],
        [p.account_id for _, p in entries],
        [p.amount for _, p in entries],
    )


async def find_spend(conn: Connection, user_id: str, idempotency_key: str) -> TransactionRow | None:
    row = await conn.fetchrow(
        f"SELECT {_TX_COLUMNS} FROM transactions"
        " WHERE user_id = $1 AND idempotency_key = $2 AND idempotency_key IS NOT NULL",
        user_id,
        idempotency_key,
    )
    return TransactionRow.of(row) if row is not None else None


async def insert_spend(
    conn: Connection,
    *,
    id: uuid.UUID,
    user_id: str,
    idempotency_key: str,
    request_hash: str,
    reason: str,
    credits: int,
    balance_after: int,
) -> TransactionRow:
    row = await conn.fetchrow(
        f"""
        INSERT INTO transactions (id, kind, user_id, idempotency_key, request_hash, reason,
                                  credits, balance_after)
        VALUES ($1, 'spend', $2, $3, $4, $5, $6, $7)
        RETURNING {_TX_COLUMNS}
        """,
        id,
        user_id,
        idempotency_key,
        request_hash,
        reason,
        credits,
        balance_after,
    )
    assert row is not None
    return TransactionRow.of(row)


async def list_transactions(
    conn: Connection, user_id: str, *, limit: int, before_seq: int | None
) -> list[TransactionRow]:
    """A user's transactions, newest first, starting after the `before_seq` keyset cursor."""
    rows = await conn.fetch(
        f"""
        SELECT {_TX_COLUMNS} FROM transactions
        WHERE user_id = $1 AND ($2::bigint IS NULL OR seq < $2)
        ORDER BY seq DESC
        LIMIT $3
        """,
        user_id,
        before_seq,
        limit,
    )
    return [TransactionRow.of(r) for r in rows]
