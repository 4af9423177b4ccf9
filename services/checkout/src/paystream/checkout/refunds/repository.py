"""Refunds in PostgreSQL: named, parameterized SQL. Takes a connection, never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from paystream.checkout.refunds.domain import Refund, RefundState, UnmatchedRefund
from paystream.shared.db import Connection
from paystream.shared.money import Money
from paystream.shared.pagination import KeysetCursor

_REFUND_COLUMNS = """
    id, order_id, user_id, amount_minor, currency, reason, status, provider, provider_refund_id,
    requested_by, idempotency_key, request_fingerprint, failure_reason, payout_reference,
    created_at, updated_at, succeeded_at, provider_payment_id
"""


def _refund(r: asyncpg.Record) -> Refund:
    return Refund(
        id=str(r["id"]),
        order_id=str(r["order_id"]),
        user_id=r["user_id"],
        amount=Money(r["amount_minor"], r["currency"]),
        reason=r["reason"],
        status=RefundState(r["status"]),
        provider=r["provider"],
        provider_refund_id=r["provider_refund_id"],
        requested_by=r["requested_by"],
        idempotency_key=r["idempotency_key"],
        request_fingerprint=r["request_fingerprint"],
        failure_reason=r["failure_reason"],
        payout_reference=r["payout_reference"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        succeeded_at=r["succeeded_at"],
        provider_payment_id=r["provider_payment_id"],
    )


def _maybe(r: asyncpg.Record | None) -> Refund | None:
    return None if r is None else _refund(r)


INSERT_REFUND = f"""
INSERT INTO refunds (
    id, order_id, user_id, amount_minor, currency, reason, status, provider, provider_refund_id,
    requested_by, idempotency_key, request_fingerprint, created_at, updated_at, succeeded_at,
    provider_payment_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15)
ON CONFLICT DO NOTHING
RETURNING {_REFUND_COLUMNS}
"""


async def insert_refund(
    conn: Connection,
    *,
    refund_id: uuid.UUID,
    order_id: uuid.UUID,
    user_id: str,
    amount: Money,
    reason: str,
    status: RefundState,
    provider: str,
    provider_refund_id: str | None,
    requested_by: str | None,
    idempotency_key: str | None,
    request_fingerprint: str | None,
    at: datetime,
    provider_payment_id: str | None = None,
) -> Refund | None:
    """None when the (requester, key) or (provider, provider refund id) already exists."""
    row = await conn.fetchrow(
        INSERT_REFUND,
        refund_id,
        order_id,
        user_id,
        amount.minor,
        amount.currency,
        reason,
        status.value,
        provider,
        provider_refund_id,
        requested_by,
        idempotency_key,
        request_fingerprint,
        at,
        at if status is RefundState.SUCCEEDED else None,
        provider_payment_id,
    )
    return _maybe(row)


GET_REFUND = f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE id = $1"
GET_REFUND_FOR_UPDATE = f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE id = $1 FOR UPDATE"
GET_REFUND_BY_IDEMPOTENCY_KEY = (
    f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE requested_by = $1 AND idempotency_key = $2"
)
# Locked: the outcome of a provider's refund is applied to it next.
LOCK_REFUND_BY_PROVIDER_ID = (
    f"SELECT {_REFUND_COLUMNS} FROM refunds"
    " WHERE provider = $1 AND provider_refund_id = $2 FOR UPDATE"
)
REFUNDS_OF_ORDER = (
    f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE order_id = $1 ORDER BY created_at, id"
)


async def get_refund(conn: Connection, refund_id: uuid.UUID) -> Refund | None:
    return _maybe(await conn.fetchrow(GET_REFUND, refund_id))


async def get_refund_for_update(conn: Connection, refund_id: uuid.UUID) -> Refund | None:
    return _maybe(await conn.fetchrow(GET_REFUND_FOR_UPDATE, refund_id))


async def get_refund_by_idempotency_key(
    conn: Connection, requested_by: str, key: str
) -> Refund | None:
    return _maybe(await conn.fetchrow(GET_REFUND_BY_IDEMPOTENCY_KEY, requested_by, key))


async def get_refund_by_provider_id(
    conn: Connection, provider: str, provider_refund_id: str
) -> Refund | None:
    return _maybe(await conn.fetchrow(LOCK_REFUND_BY_PROVIDER_ID, provider, provider_refund_id))


async def refunds_of_order(conn: Connection, order_id: uuid.UUID) -> list[Refund]:
    return [_refund(r) for r in await conn.fetch(REFUNDS_OF_ORDER, order_id)]


UPDATE_REFUND = f"""
UPDATE refunds
SET status = $2,
    provider_refund_id = COALESCE(provider_refund_id, $3),
    failure_reason = COALESCE($4, failure_reason),
    payout_reference = COALESCE($5, payout_reference),
    succeeded_at = CASE WHEN $2 = 'succeeded' THEN COALESCE(succeeded_at, $6) END,
    updated_at = $6
WHERE id = $1
RETURNING {_REFUND_COLUMNS}
"""


async def update_refund(
    conn: Connection,
    refund_id: uuid.UUID,
    *,
    status: RefundState,
    at: datetime,
    provider_refund_id: str | None = None,
    failure_reason: str | None = None,
    payout_reference: str | None = None,
) -> Refund:
    row = await conn.fetchrow(
        UPDATE_REFUND,
        refund_id,
        status.value,
        provider_refund_id,
        failure_reason,
        payout_reference,
        at,
    )
    assert row is not None, f"refund {refund_id} vanished inside its transaction"
    return _refund(row)


# The order keeps its refunded total (shown as `refunded`); the refunds are its source.
SET_REFUNDED_MINOR = """
UPDATE orders SET refunded_minor = (
    SELECT COALESCE(sum(amount_minor), 0) FROM refunds
    WHERE order_id = $1 AND status = 'succeeded'
      -- Refunds of the order's own payment: a second payment's are measured against it.
      AND provider_payment_id IS NULL
), updated_at = now()
WHERE id = $1
RETURNING refunded_minor
"""


async def set_refunded_minor(conn: Connection, order_id: uuid.UUID) -> int:
    """Recompute the order's refunded total from its succeeded refunds; returns it."""
    total: int = await conn.fetchval(SET_REFUNDED_MINOR, order_id)
    return total


LIST_REFUNDS = f"""
SELECT {_REFUND_COLUMNS} FROM refunds
WHERE ($1::uuid IS NULL OR order_id = $1)
  AND ($2::text IS NULL OR user_id = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $6
"""


async def list_refunds(
    conn: Connection,
    *,
    order_id: uuid.UUID | None,
    user_id: str | None,
    status: RefundState | None,
    before: KeysetCursor | None,
    limit: int,
) -> list[Refund]:
    rows = await conn.fetch(
        LIST_REFUNDS,
        order_id,
        user_id,
        None if status is None else status.value,
        None if before is None else before.at,
        None if before is None else before.id,
        limit,
    )
    return [_refund(r) for r in rows]


# ---- refunds reported by a provider that could not be applied -------------------------------

_UNMATCHED_COLUMNS = """
    id, provider, provider_refund_id, provider_payment_id, order_ref, user_id, amount_minor,
    refunded_total_minor, currency, reason, refunded_at, created_at, resolved_at
"""


def _unmatched(r: asyncpg.Record) -> UnmatchedRefund:
    def money(minor: int | None) -> Money | None:
        return None if minor is None else Money(minor, r["currency"])

    return UnmatchedRefund(
        id=str(r["id"]),
        provider=r["provider"],
        provider_refund_id=r["provider_refund_id"],
        provider_payment_id=r["provider_payment_id"],
        order_ref=r["order_ref"],
        user_id=r["user_id"],
        amount=money(r["amount_minor"]),
        refunded_total=money(r["refunded_total_minor"]),
        reason=r["reason"],
        refunded_at=r["refunded_at"],
        created_at=r["created_at"],
        resolved_at=r["resolved_at"],
    )


# A second report of the same refund keeps the first row (and its place in the list) but takes
# the latest reason: it says why the refund is still not applied.
RECORD_UNMATCHED = f"""
INSERT INTO unmatched_refunds (
    id, provider, provider_refund_id, provider_payment_id, order_ref, user_id, amount_minor,
    refunded_total_minor, currency, reason, refunded_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT ON CONSTRAINT unmatched_refunds_provider_refund DO UPDATE
SET reason = EXCLUDED.reason,
    amount_minor = COALESCE(EXCLUDED.amount_minor, unmatched_refunds.amount_minor),
    refunded_total_minor = GREATEST(
        EXCLUDED.refunded_total_minor, unmatched_refunds.refunded_total_minor)
RETURNING {_UNMATCHED_COLUMNS}
"""


async def record_unmatched(
    conn: Connection,
    *,
    provider: str,
    provider_refund_id: str,
    provider_payment_id: str | None,
    order_ref: str | None,
    user_id: str | None,
    amount_minor: int | None,
    refunded_total_minor: int | None,
    currency: str,
    reason: str,
    refunded_at: datetime,
) -> UnmatchedRefund:
    row = await conn.fetchrow(
        RECORD_UNMATCHED,
        uuid.uuid4(),
        provider,
        provider_refund_id,
        provider_payment_id,
        order_ref,
        user_id,
        amount_minor,
        refunded_total_minor,
        currency,
        reason,
        refunded_at,
    )
    assert row is not None
    return _unmatched(row)


RESOLVE_UNMATCHED = """
UPDATE unmatched_refunds SET resolved_at = $3
WHERE provider = $1 AND provider_refund_id = $2 AND resolved_at IS NULL
"""


async def resolve_unmatched(
    conn: Connection, provider: str, provider_refund_id: str, at: datetime
) -> None:
    """The refund was applied after all: it leaves the operator's list (the row stays)."""
    await conn.execute(RESOLVE_UNMATCHED, provider, provider_refund_id, at)


LIST_UNMATCHED = f"""
SELECT {_UNMATCHED_COLUMNS} FROM unmatched_refunds
WHERE ($1::boolean OR resolved_at IS NULL)
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $4
"""


async def list_unmatched(
    conn: Connection, *, include_resolved: bool, before: KeysetCursor | None, limit: int
) -> list[UnmatchedRefund]:
    rows = await conn.fetch(
        LIST_UNMATCHED,
        include_resolved,
        None if before is None else before.at,
        None if before is None else before.id,
        limit,
    )
    return [_unmatched(r) for r in rows]
