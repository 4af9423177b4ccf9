"""Orders in PostgreSQL: named, parameterized SQL. Takes a connection, never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from paystream.checkout.domain import Order, OrderStatus, Refund, RefundState
from paystream.checkout.providers import PaymentInstructions
from paystream.shared.db import Connection
from paystream.shared.money import Money
from paystream.shared.pagination import KeysetCursor

_COLUMNS = """
    id, user_id, package_id, credits, amount_minor, currency, payment_method, status,
    return_url, idempotency_key, request_fingerprint, provider_session_id, payment_url,
    provider_payment_id, paid_amount_minor, paid_currency, amount_mismatch, failure_reason,
    expires_at, paid_at, created_at, updated_at, provider, client_secret, qr_code,
    deposit_address, deposit_amount_minor, deposit_currency, payment_method_types, refunded_minor
"""


def _order(r: asyncpg.Record) -> Order:
    return Order(
        id=str(r["id"]),
        user_id=r["user_id"],
        package_id=r["package_id"],
        credits=r["credits"],
        amount=Money(r["amount_minor"], r["currency"]),
        payment_method=r["payment_method"],
        status=OrderStatus(r["status"]),
        return_url=r["return_url"],
        idempotency_key=r["idempotency_key"],
        request_fingerprint=r["request_fingerprint"],
        provider_session_id=r["provider_session_id"],
        payment_url=r["payment_url"],
        provider_payment_id=r["provider_payment_id"],
        paid_amount_minor=r["paid_amount_minor"],
        paid_currency=r["paid_currency"],
        amount_mismatch=r["amount_mismatch"],
        failure_reason=r["failure_reason"],
        expires_at=r["expires_at"],
        paid_at=r["paid_at"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        provider=r["provider"],
        client_secret=r["client_secret"],
        qr_code=r["qr_code"],
        deposit_address=r["deposit_address"],
        deposit_amount=(
            None
            if r["deposit_amount_minor"] is None
            else Money(r["deposit_amount_minor"], r["deposit_currency"])
        ),
        payment_method_types=tuple(r["payment_method_types"]),
        refunded_minor=r["refunded_minor"],
    )


def _maybe(r: asyncpg.Record | None) -> Order | None:
    return None if r is None else _order(r)


INSERT_ORDER = f"""
INSERT INTO orders (
    id, user_id, package_id, credits, amount_minor, currency, payment_method, status,
    return_url, idempotency_key, request_fingerprint, expires_at, created_at, updated_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $12, $12)
ON CONFLICT ON CONSTRAINT orders_user_idempotency_key DO NOTHING
RETURNING {_COLUMNS}
"""


async def insert_order(
    conn: Connection,
    *,
    order_id: uuid.UUID,
    user_id: str,
    package_id: str,
    credits: int,
    amount: Money,
    payment_method: str,
    return_url: str | None,
    idempotency_key: str | None,
    request_fingerprint: str | None,
    expires_at: datetime,
    created_at: datetime,
) -> Order | None:
    """Insert a pending order; None when (user, idempotency key) already has one."""
    row = await conn.fetchrow(
        INSERT_ORDER,
        order_id,
        user_id,
        package_id,
        credits,
        amount.minor,
        amount.currency,
        payment_method,
        return_url,
        idempotency_key,
        request_fingerprint,
        expires_at,
        created_at,
    )
    return _maybe(row)


GET_ORDER = f"SELECT {_COLUMNS} FROM orders WHERE id = $1"
GET_ORDER_FOR_UPDATE = f"SELECT {_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE"
GET_ORDER_BY_IDEMPOTENCY_KEY = (
    f"SELECT {_COLUMNS} FROM orders WHERE user_id = $1 AND idempotency_key = $2"
)


async def get_order(conn: Connection, order_id: uuid.UUID) -> Order | None:
    return _maybe(await conn.fetchrow(GET_ORDER, order_id))


async def get_order_for_update(conn: Connection, order_id: uuid.UUID) -> Order | None:
    return _maybe(await conn.fetchrow(GET_ORDER_FOR_UPDATE, order_id))


async def get_order_by_idempotency_key(conn: Connection, user_id: str, key: str) -> Order | None:
    return _maybe(await conn.fetchrow(GET_ORDER_BY_IDEMPOTENCY_KEY, user_id, key))


ATTACH_SESSION = f"""
UPDATE orders
SET provider_session_id = $2, payment_url = $3, expires_at = $4, provider = $5,
    client_secret = $6, qr_code = $7, deposit_address = $8, deposit_amount_minor = $9,
    deposit_currency = $10, payment_method_types = $11, updated_at = now()
WHERE id = $1 AND provider_session_id IS NULL
RETURNING {_COLUMNS}
"""


async def attach_session(
    conn: Connection,
    order_id: uuid.UUID,
    *,
    provider: str,
    instructions: PaymentInstructions,
    expires_at: datetime,
) -> Order | None:
    """Store what the provider gave; None when the order already has it (first writer wins)."""
    i = instructions
    deposit = i.deposit_amount
    return _maybe(
        await conn.fetchrow(
            ATTACH_SESSION,
            order_id,
            i.session_id,
            i.payment_url,
            expires_at,
            provider,
            i.client_secret,
            i.qr_code,
            i.deposit_address,
            None if deposit is None else deposit.minor,
            None if deposit is None else deposit.currency,
            list(i.payment_method_types),
        )
    )


SET_STATUS = f"""
UPDATE orders
SET status = $2, failure_reason = COALESCE($3, failure_reason), updated_at = $4
WHERE id = $1
RETURNING {_COLUMNS}
"""


async def set_status(
    conn: Connection,
    order_id: uuid.UUID,
    status: OrderStatus,
    *,
    at: datetime,
    failure_reason: str | None = None,
) -> Order:
    row = await conn.fetchrow(SET_STATUS, order_id, status.value, failure_reason, at)
    assert row is not None, f"order {order_id} vanished inside its transaction"
    return _order(row)


# First facts win: a second event about the same payment (Stripe sends both
# checkout.session.completed and payment_intent.succeeded) fills gaps, never overwrites.
RECORD_PAYMENT = f"""
UPDATE orders
SET paid_at = COALESCE(paid_at, $2),
    provider_payment_id = COALESCE(provider_payment_id, $3),
    provider_session_id = COALESCE(provider_session_id, $4),
    paid_amount_minor = COALESCE(paid_amount_minor, $5),
    paid_currency = COALESCE(paid_currency, $6),
    amount_mismatch = amount_mismatch OR $7,
    updated_at = now()
WHERE id = $1
RETURNING {_COLUMNS}
"""


async def record_payment(
    conn: Connection,
    order_id: uuid.UUID,
    *,
    paid_at: datetime,
    provider_payment_id: str | None,
    provider_session_id: str | None,
    paid_amount_minor: int,
    paid_currency: str,
    amount_mismatch: bool,
) -> Order:
    row = await conn.fetchrow(
        RECORD_PAYMENT,
        order_id,
        paid_at,
        provider_payment_id,
        provider_session_id,
        paid_amount_minor,
        paid_currency,
        amount_mismatch,
    )
    assert row is not None, f"order {order_id} vanished inside its transaction"
    return _order(row)


INSERT_STATUS_CHANGE = """
INSERT INTO order_status_changes (order_id, old_status, new_status, reason, changed_at)
VALUES ($1, $2, $3, $4, $5)
"""


async def insert_status_change(
    conn: Connection,
    order_id: uuid.UUID,
    *,
    old: OrderStatus | None,
    new: OrderStatus,
    reason: str,
    at: datetime,
) -> None:
    await conn.execute(
        INSERT_STATUS_CHANGE, order_id, None if old is None else old.value, new.value, reason, at
    )


async def status_history(conn: Connection, order_id: uuid.UUID) -> list[tuple[str | None, str]]:
    rows = await conn.fetch(
        "SELECT old_status, new_status FROM order_status_changes WHERE order_id = $1 ORDER BY id",
        order_id,
    )
    return [(r["old_status"], r["new_status"]) for r in rows]


LIST_ORDERS = f"""
SELECT {_COLUMNS} FROM orders
WHERE ($1::text IS NULL OR user_id = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5
"""


async def list_orders(
    conn: Connection,
    *,
    user_id: str | None,
    status: OrderStatus | None,
    before: KeysetCursor | None,
    limit: int,
) -> list[Order]:
    """Newest first; `before` is the keyset position (created_at, id) to continue after."""
    args: list[Any] = [
        user_id,
        None if status is None else status.value,
        None if before is None else before.at,
        None if before is None else before.id,
        limit,
    ]
    return [_order(r) for r in await conn.fetch(LIST_ORDERS, *args)]


LOCK_OVERDUE_PENDING = """
SELECT id FROM orders
WHERE status = 'pending' AND expires_at < $1
ORDER BY expires_at
LIMIT $2
FOR UPDATE SKIP LOCKED
"""


async def lock_overdue_pending(
    conn: Connection, *, expired_before: datetime, limit: int
) -> list[uuid.UUID]:
    rows = await conn.fetch(LOCK_OVERDUE_PENDING, expired_before, limit)
    return [r["id"] for r in rows]


# ---- refunds --------------------------------------------------------------------------------

_REFUND_COLUMNS = """
    id, order_id, user_id, amount_minor, currency, reason, status, provider, provider_refund_id,
    requested_by, idempotency_key, request_fingerprint, failure_reason, payout_reference,
    created_at, updated_at, succeeded_at
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
    )


INSERT_REFUND = f"""
INSERT INTO refunds (
    id, order_id, user_id, amount_minor, currency, reason, status, provider, provider_refund_id,
    requested_by, idempotency_key, request_fingerprint, created_at, updated_at, succeeded_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)
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
    )
    return None if row is None else _refund(row)


async def get_refund(conn: Connection, refund_id: uuid.UUID) -> Refund | None:
    row = await conn.fetchrow(f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE id = $1", refund_id)
    return None if row is None else _refund(row)


async def get_refund_for_update(conn: Connection, refund_id: uuid.UUID) -> Refund | None:
    row = await conn.fetchrow(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE id = $1 FOR UPDATE", refund_id
    )
    return None if row is None else _refund(row)


async def get_refund_by_idempotency_key(
    conn: Connection, requested_by: str, key: str
) -> Refund | None:
    row = await conn.fetchrow(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE requested_by = $1 AND idempotency_key = $2",
        requested_by,
        key,
    )
    return None if row is None else _refund(row)


async def get_refund_by_provider_id(
    conn: Connection, provider: str, provider_refund_id: str
) -> Refund | None:
    row = await conn.fetchrow(
        f"SELECT {_REFUND_COLUMNS} FROM refunds"
        " WHERE provider = $1 AND provider_refund_id = $2 FOR UPDATE",
        provider,
        provider_refund_id,
    )
    return None if row is None else _refund(row)


async def refunds_of_order(conn: Connection, order_id: uuid.UUID) -> list[Refund]:
    rows = await conn.fetch(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE order_id = $1 ORDER BY created_at, id",
        order_id,
    )
    return [_refund(r) for r in rows]


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


async def set_refunded_minor(conn: Connection, order_id: uuid.UUID) -> int:
    """Recompute the order's refunded total from its succeeded refunds; returns it."""
    total: int = await conn.fetchval(
        """
        UPDATE orders SET refunded_minor = (
            SELECT COALESCE(sum(amount_minor), 0) FROM refunds
            WHERE order_id = $1 AND status = 'succeeded'
        ), updated_at = now()
        WHERE id = $1
        RETURNING refunded_minor
        """,
        order_id,
    )
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
