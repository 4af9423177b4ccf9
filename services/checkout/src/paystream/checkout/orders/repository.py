"""Orders in PostgreSQL: named, parameterized SQL. Takes a connection, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from paystream.checkout.orders.domain import Order, OrderKind, OrderStatus
from paystream.checkout.providers import PaymentInstructions
from paystream.shared.db import Connection
from paystream.shared.events import GrantSpec, InvoiceLine
from paystream.shared.money import Money
from paystream.shared.pagination import KeysetCursor

_COLUMNS = """
    id, user_id, package_id, credits, amount_minor, currency, payment_method, status,
    return_url, idempotency_key, request_fingerprint, provider_session_id, payment_url,
    provider_payment_id, paid_amount_minor, paid_currency, amount_mismatch, failure_reason,
    expires_at, paid_at, created_at, updated_at, provider, client_secret, qr_code,
    deposit_address, deposit_amount_minor, deposit_currency, payment_method_types, refunded_minor,
    grants, lines, kind
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
        grants=tuple(GrantSpec.model_validate(g) for g in r["grants"]),
        lines=tuple(InvoiceLine.model_validate(line) for line in r["lines"]),
        kind=r["kind"],
    )


def _maybe(r: asyncpg.Record | None) -> Order | None:
    return None if r is None else _order(r)


INSERT_ORDER = f"""
INSERT INTO orders (
    id, user_id, package_id, credits, amount_minor, currency, payment_method, status,
    return_url, idempotency_key, request_fingerprint, expires_at, created_at, updated_at,
    grants, lines, kind
) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $12, $12, $13, $14, $15)
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
    grants: Sequence[GrantSpec],
    lines: Sequence[InvoiceLine],
    kind: OrderKind = "package",
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
        [g.model_dump(mode="json") for g in grants],
        [line.model_dump(mode="json") for line in lines],
        kind,
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


# A refund made in a provider's dashboard may name only the payment: the order that holds it,
# locked (the refund changes it next).
GET_ORDER_BY_PAYMENT_FOR_UPDATE = f"""
SELECT {_COLUMNS} FROM orders WHERE provider = $1 AND provider_payment_id = $2
ORDER BY created_at LIMIT 1 FOR UPDATE
"""


async def get_order_by_payment_for_update(
    conn: Connection, provider: str, provider_payment_id: str
) -> Order | None:
    return _maybe(
        await conn.fetchrow(GET_ORDER_BY_PAYMENT_FOR_UPDATE, provider, provider_payment_id)
    )


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


# The move and its line in the history, in one round trip: a payment event's handling is a chain
# of statements, and on a busy machine each round trip waits for two processes to be scheduled.
SET_STATUS_RECORDED = f"""
WITH updated AS (
    UPDATE orders
    SET status = $2, failure_reason = COALESCE($3, failure_reason), updated_at = $4
    WHERE id = $1
    RETURNING {_COLUMNS}
), recorded AS (
    INSERT INTO order_status_changes (order_id, old_status, new_status, reason, changed_at)
    SELECT id, $5, $2, $6, $4 FROM updated
)
SELECT * FROM updated
"""


async def set_status_recorded(
    conn: Connection,
    order_id: uuid.UUID,
    *,
    old: OrderStatus | None,
    new: OrderStatus,
    reason: str,
    at: datetime,
    failure_reason: str | None = None,
) -> Order:
    """Move the order to `new` and add the move to its history, in one statement."""
    row = await conn.fetchrow(
        SET_STATUS_RECORDED,
        order_id,
        new.value,
        failure_reason,
        at,
        None if old is None else old.value,
        reason,
    )
    assert row is not None, f"order {order_id} vanished inside its transaction"
    return _order(row)


# The orders a batch of payment notifications names, locked in one statement. In id order:
# two transactions locking several orders this way never wait on each other in a cycle.
GET_ORDERS_FOR_UPDATE = (
    f"SELECT {_COLUMNS} FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE"
)


async def get_orders_for_update(
    conn: Connection, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Order]:
    rows = await conn.fetch(GET_ORDERS_FOR_UPDATE, list(order_ids))
    return {r["id"]: _order(r) for r in rows}


@dataclass(frozen=True, slots=True)
class PendingPayment:
    """A payment that settles a pending order as ordered, and the status move it makes."""

    order_id: uuid.UUID
    paid_at: datetime
    provider_payment_id: str | None
    provider_session_id: str | None
    paid_amount_minor: int
    paid_currency: str
    reason: str
    at: datetime


# `record_payment` then `set_status_recorded` for many pending orders in one statement: the same
# columns end up with the same values (first facts win, updated_at is the move's time), and the
# history rows are added in the payments' order.
PAY_PENDING_ORDERS = f"""
WITH paid AS (
    UPDATE orders
    SET paid_at = COALESCE(paid_at, p.p_paid_at),
        provider_payment_id = COALESCE(provider_payment_id, p.p_payment_id),
        provider_session_id = COALESCE(provider_session_id, p.p_session_id),
        paid_amount_minor = COALESCE(paid_amount_minor, p.p_paid_minor),
        paid_currency = COALESCE(paid_currency, p.p_paid_currency),
        status = 'paid',
        updated_at = p.p_at
    FROM unnest(
        $1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::text[],
        $7::text[], $8::timestamptz[]
    ) WITH ORDINALITY
        AS p(p_id, p_paid_at, p_payment_id, p_session_id, p_paid_minor, p_paid_currency,
             p_reason, p_at, p_n)
    WHERE orders.id = p.p_id AND orders.status = 'pending'
    RETURNING {_COLUMNS}, p.p_reason, p.p_at, p.p_n
), recorded AS (
    INSERT INTO order_status_changes (order_id, old_status, new_status, reason, changed_at)
    SELECT id, 'pending', 'paid', p_reason, p_at FROM paid ORDER BY p_n
)
SELECT * FROM paid ORDER BY p_n
"""


async def pay_pending_orders(conn: Connection, payments: Sequence[PendingPayment]) -> list[Order]:
    """Record each payment on its pending order and move the order to paid, with its history
    row; the paid orders in the payments' order. Raises if an order was not pending."""
    rows = await conn.fetch(
        PAY_PENDING_ORDERS,
        [p.order_id for p in payments],
        [p.paid_at for p in payments],
        [p.provider_payment_id for p in payments],
        [p.provider_session_id for p in payments],
        [p.paid_amount_minor for p in payments],
        [p.paid_currency for p in payments],
        [p.reason for p in payments],
        [p.at for p in payments],
    )
    if len(rows) != len(payments):
        # The caller locked these orders pending; anything else is a bug, and the batch's
        # transaction is rolled back rather than half applied.
        raise RuntimeError(f"{len(payments) - len(rows)} of the orders to pay were not pending")
    return [_order(r) for r in rows]


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


STATUS_HISTORY = """
SELECT old_status, new_status FROM order_status_changes WHERE order_id = $1 ORDER BY id
"""


async def status_history(conn: Connection, order_id: uuid.UUID) -> list[tuple[str | None, str]]:
    rows = await conn.fetch(STATUS_HISTORY, order_id)
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


@dataclass(frozen=True, slots=True)
class OrderUsage:
    open: int  # pending and not past its expiry
    first_expiry: datetime | None  # of the open ones: when the first one closes
    recent: int  # created since the window's start
    oldest_recent: datetime | None


ORDER_USAGE = """
SELECT count(*) FILTER (WHERE status = 'pending' AND expires_at > $2) AS open,
       min(expires_at) FILTER (WHERE status = 'pending' AND expires_at > $2) AS first_expiry,
       count(*) FILTER (WHERE created_at > $3) AS recent,
       min(created_at) FILTER (WHERE created_at > $3) AS oldest_recent
FROM orders
WHERE user_id = $1 AND (created_at > $3 OR (status = 'pending' AND expires_at > $2))
"""


async def order_usage(
    conn: Connection, user_id: str, *, now: datetime, since: datetime
) -> OrderUsage:
    r = await conn.fetchrow(ORDER_USAGE, user_id, now, since)
    assert r is not None
    return OrderUsage(r["open"], r["first_expiry"], r["recent"], r["oldest_recent"])


async def lock_user_orders(conn: Connection, user_id: str) -> None:
    """Serialize one user's order creations until the transaction ends (a limit check and its
    insert must not interleave with another's)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"orders-of:{user_id}"
    )


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
