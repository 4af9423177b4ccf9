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

from paystream.ledger.domain import Posting, Refund
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
    refund_key: str | None

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
            refund_key=r["refund_key"],
        )


_TX_COLUMNS = (
    "seq, id, kind, user_id, order_id, reason, credits, balance_after, request_hash, created_at,"
    " refund_key"
)


async def granted_order_ids(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT order_id FROM transactions WHERE order_id = ANY($1::text[]) AND kind = 'grant'",
        list(order_ids),
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
    paid_minor: Sequence[int],
    paid_currency: Sequence[str],
    reason: str,
    created_at: datetime,
) -> int:
    """Insert grant transactions in the given order; skip orders already granted. Returns how
    many were inserted."""
    rows = await conn.fetch(
        """
        INSERT INTO transactions (id, kind, user_id, order_id, event_id, reason, credits,
                                  balance_after, paid_minor, paid_currency, created_at)
        SELECT g.id, 'grant', g.user_id, g.order_id, g.event_id, $9, g.credits, g.balance_after,
               g.paid_minor, g.paid_currency, $10
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::bigint[], $6::bigint[],
                    $7::bigint[], $8::text[])
             WITH ORDINALITY AS g (id, user_id, order_id, event_id, credits, balance_after,
                                   paid_minor, paid_currency, n)
        ORDER BY g.n
        ON CONFLICT (order_id) WHERE kind = 'grant' DO NOTHING
        RETURNING id
        """,
        list(ids),
        list(user_ids),
        list(order_ids),
        list(event_ids),
        list(credits),
        list(balances_after),
        list(paid_minor),
        list(paid_currency),
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


# ---- refunds -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantRow:
    """What a refund needs of its order's grant."""

    id: uuid.UUID
    user_id: str
    credits: int
    paid_minor: int | None
    paid_currency: str | None


async def find_grant(conn: Connection, order_id: str) -> GrantRow | None:
    row = await conn.fetchrow(
        "SELECT id, user_id, credits, paid_minor, paid_currency FROM transactions"
        " WHERE order_id = $1 AND kind = 'grant'",
        order_id,
    )
    if row is None:
        return None
    return GrantRow(
        row["id"], row["user_id"], row["credits"], row["paid_minor"], row["paid_currency"]
    )


async def refund_known(conn: Connection, refund_key: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM refunds WHERE refund_key = $1)", refund_key
    )
    return found


async def refunded_so_far(conn: Connection, order_id: str) -> tuple[int, int]:
    """(money refunded, credits owed back) by the order's refunds applied so far."""
    row = await conn.fetchrow(
        "SELECT coalesce(sum(amount_minor), 0) AS refunded, coalesce(sum(credits_due), 0) AS due"
        " FROM refunds WHERE order_id = $1 AND status = 'applied'",
        order_id,
    )
    assert row is not None
    return int(row["refunded"]), int(row["due"])


# Up to this many orders with waiting refunds are read whole and matched in Python.
_FEW_PENDING = 1000


async def pending_refund_orders(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    """The orders among `order_ids` with refunds waiting for their grant.

    Asked by every grant batch. Refunds wait for a grant rarely and briefly, so reading the
    waiting orders (a partial index, usually empty) and matching them here costs a fraction of
    sending the batch's order ids; the ANY() lookup takes over when many wait.
    """
    rows = await conn.fetch(
        "SELECT DISTINCT order_id FROM refunds WHERE status = 'pending' LIMIT $1",
        _FEW_PENDING + 1,
    )
    if len(rows) <= _FEW_PENDING:
        return {r["order_id"] for r in rows}.intersection(order_ids)
    rows = await conn.fetch(
        "SELECT DISTINCT order_id FROM refunds"
        " WHERE status = 'pending' AND order_id = ANY($1::text[])",
        list(order_ids),
    )
    return {r["order_id"] for r in rows}


_REFUND_COLUMNS = """
    seq, id, refund_key, event_id, order_id, user_id, refund_id, provider, provider_refund_id,
    amount_minor, currency, reason, refunded_at, received_at, status, credits_due,
    credits_taken, shortfall, balance_after, transaction_id, applied_at, rejection
"""


@dataclass(frozen=True, slots=True)
class RefundRow:
    seq: int
    id: uuid.UUID
    refund: Refund
    received_at: datetime
    status: str
    credits_due: int | None
    credits_taken: int | None
    shortfall: int | None
    balance_after: int | None
    transaction_id: uuid.UUID | None
    applied_at: datetime | None
    rejection: str | None

    @classmethod
    def of(cls, r: asyncpg.Record) -> RefundRow:
        return cls(
            seq=r["seq"],
            id=r["id"],
            refund=Refund(
                event_id=r["event_id"],
                refund_key=r["refund_key"],
                order_id=r["order_id"],
                user_id=r["user_id"],
                refund_id=r["refund_id"],
                provider=r["provider"],
                provider_refund_id=r["provider_refund_id"],
                amount_minor=r["amount_minor"],
                currency=r["currency"],
                reason=r["reason"],
                refunded_at=r["refunded_at"],
            ),
            received_at=r["received_at"],
            status=r["status"],
            credits_due=r["credits_due"],
            credits_taken=r["credits_taken"],
            shortfall=r["shortfall"],
            balance_after=r["balance_after"],
            transaction_id=r["transaction_id"],
            applied_at=r["applied_at"],
            rejection=r["rejection"],
        )


async def pending_refunds_of(conn: Connection, order_id: str) -> list[RefundRow]:
    """The order's refunds waiting for its grant, in the order they arrived, locked."""
    rows = await conn.fetch(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE order_id = $1 AND status = 'pending'"
        " ORDER BY seq FOR UPDATE",
        order_id,
    )
    return [RefundRow.of(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a refund was settled: applied (with what it took) or rejected (with why)."""

    status: str
    credits_due: int | None = None
    credits_taken: int | None = None
    shortfall: int | None = None
    balance_after: int | None = None
    transaction_id: uuid.UUID | None = None
    applied_at: datetime | None = None
    rejection: str | None = None


PENDING = Outcome(status="pending")


async def insert_refund(conn: Connection, id: uuid.UUID, r: Refund, outcome: Outcome) -> bool:
    """Record a refund once per refund_key; False if it was already known."""
    inserted = await conn.fetchval(
        """
        INSERT INTO refunds (id, refund_key, event_id, order_id, user_id, refund_id, provider,
                             provider_refund_id, amount_minor, currency, reason, refunded_at,
                             status, credits_due, credits_taken, shortfall, balance_after,
                             transaction_id, applied_at, rejection)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                $19, $20)
        ON CONFLICT (refund_key) DO NOTHING
        RETURNING true
        """,
        id,
        r.refund_key,
        r.event_id,
        r.order_id,
        r.user_id,
        r.refund_id,
        r.provider,
        r.provider_refund_id,
        r.amount_minor,
        r.currency,
        r.reason,
        r.refunded_at,
        outcome.status,
        outcome.credits_due,
        outcome.credits_taken,
        outcome.shortfall,
        outcome.balance_after,
        outcome.transaction_id,
        outcome.applied_at,
        outcome.rejection,
    )
    return bool(inserted)


async def settle_refund(conn: Connection, id: uuid.UUID, outcome: Outcome) -> None:
    """A pending refund leaves `pending`, once (the table's trigger refuses anything else)."""
    await conn.execute(
        """
        UPDATE refunds SET status = $2, credits_due = $3, credits_taken = $4, shortfall = $5,
                           balance_after = $6, transaction_id = $7, applied_at = $8,
                           rejection = $9
        WHERE id = $1
        """,
        id,
        outcome.status,
        outcome.credits_due,
        outcome.credits_taken,
        outcome.shortfall,
        outcome.balance_after,
        outcome.transaction_id,
        outcome.applied_at,
        outcome.rejection,
    )


async def insert_revoke(
    conn: Connection,
    *,
    id: uuid.UUID,
    user_id: str,
    order_id: str,
    refund_key: str,
    event_id: uuid.UUID,
    reason: str,
    credits: int,
    balance_after: int,
    created_at: datetime,
) -> None:
    await conn.execute(
        """
        INSERT INTO transactions (id, kind, user_id, order_id, event_id, refund_key, reason,
                                  credits, balance_after, created_at)
        VALUES ($1, 'revoke', $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        id,
        user_id,
        order_id,
        event_id,
        refund_key,
        reason,
        credits,
        balance_after,
        created_at,
    )


async def list_refunds(
    conn: Connection,
    *,
    status: str | None,
    shortfall_only: bool,
    user_id: str | None,
    limit: int,
    before_seq: int | None,
) -> list[RefundRow]:
    """Refunds for operators, newest first, keyset on their arrival sequence."""
    rows = await conn.fetch(
        f"""
        SELECT {_REFUND_COLUMNS} FROM refunds
        WHERE ($1::text IS NULL OR status = $1)
          AND (NOT $2::bool OR shortfall > 0)
          AND ($3::text IS NULL OR user_id = $3)
          AND ($4::bigint IS NULL OR seq < $4)
        ORDER BY seq DESC
        LIMIT $5
        """,
        status,
        shortfall_only,
        user_id,
        before_seq,
        limit,
    )
    return [RefundRow.of(r) for r in rows]
