"""Subscriptions in PostgreSQL: named, parameterized SQL. Takes a connection, never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from paystream.checkout.subscriptions.domain import Billing, Status, Subscription
from paystream.shared.db import Connection

_COLUMNS = """
    id, user_id, plan_id, status, billing, currency, payment_method, anchor, months,
    period_index, allowance_month, next_plan_id, renewal_order_id, reminded_period,
    grace_ends_at, stripe_subscription_id, stripe_customer_id, version, stripe_synced_version,
    next_check_at, created_at, updated_at
"""


def _sub(r: asyncpg.Record) -> Subscription:
    return Subscription(
        id=str(r["id"]),
        user_id=r["user_id"],
        plan_id=r["plan_id"],
        status=Status(r["status"]),
        billing=Billing(r["billing"]),
        currency=r["currency"],
        payment_method=r["payment_method"],
        anchor=r["anchor"],
        months=r["months"],
        period_index=r["period_index"],
        allowance_month=r["allowance_month"],
        next_plan_id=r["next_plan_id"],
        renewal_order_id=None if r["renewal_order_id"] is None else str(r["renewal_order_id"]),
        reminded_period=r["reminded_period"],
        grace_ends_at=r["grace_ends_at"],
        stripe_subscription_id=r["stripe_subscription_id"],
        stripe_customer_id=r["stripe_customer_id"],
        version=r["version"],
        stripe_synced_version=r["stripe_synced_version"],
        next_check_at=r["next_check_at"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def _maybe(r: asyncpg.Record | None) -> Subscription | None:
    return None if r is None else _sub(r)


INSERT_SUBSCRIPTION = f"""
INSERT INTO subscriptions (
    id, user_id, plan_id, status, billing, anchor, months, period_index, allowance_month,
    next_check_at, created_at, updated_at
) VALUES ($1, $2, $3, 'active', 'free', $4, 1, 0, 0, $5, $4, $4)
ON CONFLICT (user_id) DO NOTHING
RETURNING {_COLUMNS}
"""


async def insert_free(
    conn: Connection, *, user_id: str, plan_id: str, at: datetime, next_check_at: datetime
) -> Subscription | None:
    """A user's first subscription, on the free plan from `at`; None when they have one."""
    return _maybe(
        await conn.fetchrow(INSERT_SUBSCRIPTION, uuid.uuid4(), user_id, plan_id, at, next_check_at)
    )


GET_BY_USER = f"SELECT {_COLUMNS} FROM subscriptions WHERE user_id = $1"
GET_BY_USER_FOR_UPDATE = f"SELECT {_COLUMNS} FROM subscriptions WHERE user_id = $1 FOR UPDATE"
GET_FOR_UPDATE = f"SELECT {_COLUMNS} FROM subscriptions WHERE id = $1 FOR UPDATE"


async def get_by_user(conn: Connection, user_id: str) -> Subscription | None:
    return _maybe(await conn.fetchrow(GET_BY_USER, user_id))


async def get_by_user_for_update(conn: Connection, user_id: str) -> Subscription | None:
    return _maybe(await conn.fetchrow(GET_BY_USER_FOR_UPDATE, user_id))


async def get_for_update(conn: Connection, subscription_id: uuid.UUID) -> Subscription | None:
    return _maybe(await conn.fetchrow(GET_FOR_UPDATE, subscription_id))


SAVE = f"""
UPDATE subscriptions SET
    plan_id = $2, status = $3, billing = $4, currency = $5, payment_method = $6, anchor = $7,
    months = $8, period_index = $9, allowance_month = $10, next_plan_id = $11,
    renewal_order_id = $12, reminded_period = $13, grace_ends_at = $14,
    stripe_subscription_id = $15, stripe_customer_id = $16, version = $17,
    next_check_at = $18, updated_at = $19
WHERE id = $1
RETURNING {_COLUMNS}
"""


async def save(conn: Connection, s: Subscription) -> Subscription:
    row = await conn.fetchrow(
        SAVE,
        uuid.UUID(s.id),
        s.plan_id,
        s.status.value,
        s.billing.value,
        s.currency,
        s.payment_method,
        s.anchor,
        s.months,
        s.period_index,
        s.allowance_month,
        s.next_plan_id,
        None if s.renewal_order_id is None else uuid.UUID(s.renewal_order_id),
        s.reminded_period,
        s.grace_ends_at,
        s.stripe_subscription_id,
        s.stripe_customer_id,
        s.version,
        s.next_check_at,
        s.updated_at,
    )
    assert row is not None, f"subscription {s.id} vanished inside its transaction"
    return _sub(row)


LOCK_DUE = """
SELECT id FROM subscriptions WHERE next_check_at <= $1
ORDER BY next_check_at LIMIT $2
FOR UPDATE SKIP LOCKED
"""


async def lock_due(conn: Connection, *, now: datetime, limit: int) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(LOCK_DUE, now, limit)]


GET = f"SELECT {_COLUMNS} FROM subscriptions WHERE id = $1"


async def get(conn: Connection, subscription_id: uuid.UUID) -> Subscription | None:
    return _maybe(await conn.fetchrow(GET, subscription_id))


UNSYNCED = f"""
SELECT {_COLUMNS} FROM subscriptions
WHERE billing = 'stripe' AND stripe_synced_version < version
  AND stripe_subscription_id IS NOT NULL
ORDER BY updated_at LIMIT $1
"""


async def unsynced(conn: Connection, limit: int) -> list[Subscription]:
    return [_sub(r) for r in await conn.fetch(UNSYNCED, limit)]


MARK_SYNCED = """
UPDATE subscriptions SET stripe_synced_version = $2
WHERE id = $1 AND stripe_synced_version < $2
"""


async def mark_synced(conn: Connection, subscription_id: uuid.UUID, version: int) -> None:
    await conn.execute(MARK_SYNCED, subscription_id, version)


# ---- the orders of subscriptions --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanOrder:
    """Which period of which subscription an order pays or grants."""

    order_id: str
    subscription_id: str
    kind: str
    plan_id: str
    from_plan_id: str | None
    period_index: int
    period_start: datetime
    period_end: datetime
    allowance_month: int
    months: int
    stripe_invoice_id: str | None
    applied_at: datetime | None
    created_at: datetime
    paid_event_id: str | None = None
    paid_review: str | None = None
    reviewed_by: str | None = None


def _plan_order(r: asyncpg.Record) -> PlanOrder:
    return PlanOrder(
        order_id=str(r["order_id"]),
        subscription_id=str(r["subscription_id"]),
        kind=r["kind"],
        plan_id=r["plan_id"],
        from_plan_id=r["from_plan_id"],
        period_index=r["period_index"],
        period_start=r["period_start"],
        period_end=r["period_end"],
        allowance_month=r["allowance_month"],
        months=r["months"],
        stripe_invoice_id=r["stripe_invoice_id"],
        applied_at=r["applied_at"],
        created_at=r["created_at"],
        paid_event_id=r["paid_event_id"],
        paid_review=r["paid_review"],
        reviewed_by=r["reviewed_by"],
    )


INSERT_PLAN_ORDER = """
INSERT INTO subscription_orders (
    order_id, subscription_id, kind, plan_id, from_plan_id, period_index, period_start,
    period_end, allowance_month, months, stripe_invoice_id, created_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (order_id) DO NOTHING
"""


async def insert_plan_order(conn: Connection, p: PlanOrder) -> None:
    await conn.execute(
        INSERT_PLAN_ORDER,
        uuid.UUID(p.order_id),
        uuid.UUID(p.subscription_id),
        p.kind,
        p.plan_id,
        p.from_plan_id,
        p.period_index,
        p.period_start,
        p.period_end,
        p.allowance_month,
        p.months,
        p.stripe_invoice_id,
        p.created_at,
    )


_PLAN_ORDER_COLUMNS = """
    order_id, subscription_id, kind, plan_id, from_plan_id, period_index, period_start,
    period_end, allowance_month, months, stripe_invoice_id, applied_at, created_at,
    paid_event_id, paid_review, reviewed_by
"""


async def plan_order(conn: Connection, order_id: uuid.UUID) -> PlanOrder | None:
    r = await conn.fetchrow(
        f"SELECT {_PLAN_ORDER_COLUMNS} FROM subscription_orders WHERE order_id = $1", order_id
    )
    return None if r is None else _plan_order(r)


async def plan_order_by_invoice(conn: Connection, invoice_id: str) -> PlanOrder | None:
    r = await conn.fetchrow(
        f"SELECT {_PLAN_ORDER_COLUMNS} FROM subscription_orders WHERE stripe_invoice_id = $1",
        invoice_id,
    )
    return None if r is None else _plan_order(r)


async def record_paid(
    conn: Connection, order_id: uuid.UUID, *, event_id: str, review: str, reviewed_by: str | None
) -> None:
    """Keep what announced a renewal paid before its period: it is announced when it starts."""
    await conn.execute(
        "UPDATE subscription_orders SET paid_event_id = $2, paid_review = $3, reviewed_by = $4"
        " WHERE order_id = $1",
        order_id,
        event_id,
        review,
        reviewed_by,
    )


async def mark_applied(conn: Connection, order_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE subscription_orders SET applied_at = $2 WHERE order_id = $1 AND applied_at IS NULL",
        order_id,
        at,
    )


# Orders of a subscription still open at their provider: a change or a renewal waiting to be
# paid (its order pending).
OPEN_ORDERS = f"""
SELECT {", ".join("so." + c.strip() for c in _PLAN_ORDER_COLUMNS.split(","))}
FROM subscription_orders so JOIN orders o ON o.id = so.order_id
WHERE so.subscription_id = $1 AND o.status = 'pending' AND so.kind = ANY($2::text[])
ORDER BY so.created_at
"""


async def open_orders(
    conn: Connection, subscription_id: uuid.UUID, kinds: list[str]
) -> list[PlanOrder]:
    return [_plan_order(r) for r in await conn.fetch(OPEN_ORDERS, subscription_id, kinds)]


RECENT_ORDERS = f"""
SELECT {_PLAN_ORDER_COLUMNS} FROM subscription_orders
WHERE subscription_id = $1 ORDER BY created_at DESC LIMIT $2
"""


async def recent_orders(
    conn: Connection, subscription_id: uuid.UUID, limit: int
) -> list[PlanOrder]:
    return [_plan_order(r) for r in await conn.fetch(RECENT_ORDERS, subscription_id, limit)]


# ---- history ----------------------------------------------------------------------------------


INSERT_CHANGE = """
INSERT INTO subscription_changes (
    subscription_id, change, old_plan_id, new_plan_id, old_status, new_status, order_id,
    changed_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""


async def insert_change(
    conn: Connection,
    subscription_id: uuid.UUID,
    *,
    change: str,
    old_plan_id: str | None,
    new_plan_id: str,
    old_status: str | None,
    new_status: str,
    order_id: uuid.UUID | None,
    at: datetime,
) -> None:
    await conn.execute(
        INSERT_CHANGE,
        subscription_id,
        change,
        old_plan_id,
        new_plan_id,
        old_status,
        new_status,
        order_id,
        at,
    )


@dataclass(frozen=True, slots=True)
class Change:
    change: str
    old_plan_id: str | None
    new_plan_id: str
    old_status: str | None
    new_status: str
    order_id: str | None
    changed_at: datetime


HISTORY = """
SELECT change, old_plan_id, new_plan_id, old_status, new_status, order_id, changed_at
FROM subscription_changes WHERE subscription_id = $1 ORDER BY id DESC LIMIT $2
"""


async def history(conn: Connection, subscription_id: uuid.UUID, limit: int) -> list[Change]:
    rows = await conn.fetch(HISTORY, subscription_id, limit)
    return [
        Change(
            change=r["change"],
            old_plan_id=r["old_plan_id"],
            new_plan_id=r["new_plan_id"],
            old_status=r["old_status"],
            new_status=r["new_status"],
            order_id=None if r["order_id"] is None else str(r["order_id"]),
            changed_at=r["changed_at"],
        )
        for r in rows
    ]
