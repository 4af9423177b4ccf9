"""Auto-recharge settings and attempts in PostgreSQL. Takes a connection, never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from paystream.checkout.auto_recharge.domain import (
    COUNTED,
    AttemptStatus,
    Purchase,
    RechargeStatus,
    Setting,
    Usage,
)
from paystream.checkout.orders.domain import parse_id
from paystream.shared.db import Connection
from paystream.shared.money import Money

_SETTING_COLUMNS = """
    user_id, unit, enabled, status, threshold, package_id, product_id, quantity, amount_minor,
    currency, payment_method_id, monthly_cap_minor, daily_count_cap, consent_text, consent_at,
    last_error, action_url, created_at, updated_at
"""


def _setting(r: asyncpg.Record) -> Setting:
    currency = r["currency"]
    return Setting(
        user_id=r["user_id"],
        unit=r["unit"],
        enabled=r["enabled"],
        status=RechargeStatus(r["status"]),
        threshold=r["threshold"],
        purchase=Purchase(
            package_id=r["package_id"],
            product_id=r["product_id"],
            quantity=r["quantity"],
            amount=None if r["amount_minor"] is None else Money(r["amount_minor"], currency),
            currency=currency,
        ),
        payment_method_id=r["payment_method_id"],
        monthly_cap=Money(r["monthly_cap_minor"], currency),
        daily_count_cap=r["daily_count_cap"],
        consent_text=r["consent_text"],
        consent_at=r["consent_at"],
        last_error=r["last_error"],
        action_url=r["action_url"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


async def settings_of(conn: Connection, user_id: str) -> list[Setting]:
    rows = await conn.fetch(
        f"SELECT {_SETTING_COLUMNS} FROM auto_recharge_settings WHERE user_id = $1 ORDER BY unit",
        user_id,
    )
    return [_setting(r) for r in rows]


async def lock_setting(conn: Connection, user_id: str, unit: str) -> Setting | None:
    """The setting, locked: every decision to charge a user's unit is made under this lock."""
    row = await conn.fetchrow(
        f"SELECT {_SETTING_COLUMNS} FROM auto_recharge_settings"
        " WHERE user_id = $1 AND unit = $2 FOR UPDATE",
        user_id,
        unit,
    )
    return None if row is None else _setting(row)


async def put_setting(conn: Connection, s: Setting) -> Setting:
    p = s.purchase
    row = await conn.fetchrow(
        f"""
        INSERT INTO auto_recharge_settings ({_SETTING_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                $18, $19)
        ON CONFLICT (user_id, unit) DO UPDATE SET enabled = EXCLUDED.enabled,
            status = EXCLUDED.status, threshold = EXCLUDED.threshold,
            package_id = EXCLUDED.package_id, product_id = EXCLUDED.product_id,
            quantity = EXCLUDED.quantity, amount_minor = EXCLUDED.amount_minor,
            currency = EXCLUDED.currency, payment_method_id = EXCLUDED.payment_method_id,
            monthly_cap_minor = EXCLUDED.monthly_cap_minor,
            daily_count_cap = EXCLUDED.daily_count_cap, consent_text = EXCLUDED.consent_text,
            consent_at = EXCLUDED.consent_at, last_error = EXCLUDED.last_error,
            action_url = EXCLUDED.action_url, updated_at = EXCLUDED.updated_at
        RETURNING {_SETTING_COLUMNS}
        """,
        s.user_id,
        s.unit,
        s.enabled,
        s.status.value,
        s.threshold,
        p.package_id,
        p.product_id,
        p.quantity,
        None if p.amount is None else p.amount.minor,
        p.currency,
        s.payment_method_id,
        s.monthly_cap.minor,
        s.daily_count_cap,
        s.consent_text,
        s.consent_at,
        s.last_error,
        s.action_url,
        s.created_at,
        s.updated_at,
    )
    assert row is not None
    return _setting(row)


async def set_status(
    conn: Connection,
    user_id: str,
    unit: str,
    status: RechargeStatus,
    *,
    last_error: str | None,
    action_url: str | None,
    at: datetime,
) -> None:
    await conn.execute(
        """
        UPDATE auto_recharge_settings SET status = $3, last_error = $4, action_url = $5,
            updated_at = $6
        WHERE user_id = $1 AND unit = $2
        """,
        user_id,
        unit,
        status.value,
        last_error,
        action_url,
        at,
    )


async def set_last_error(
    conn: Connection, user_id: str, unit: str, last_error: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE auto_recharge_settings SET last_error = $3, updated_at = $4"
        " WHERE user_id = $1 AND unit = $2",
        user_id,
        unit,
        last_error,
        at,
    )


async def forget_payment_method(conn: Connection, user_id: str, method_id: str) -> None:
    await conn.execute(
        "UPDATE auto_recharge_settings SET payment_method_id = NULL"
        " WHERE user_id = $1 AND payment_method_id = $2",
        user_id,
        method_id,
    )


# ---- attempts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    id: str
    user_id: str
    unit: str
    crossing_key: str
    trigger: str
    status: AttemptStatus
    order_id: str | None
    amount: Money
    payment_method_id: str | None
    provider_payment_id: str | None
    tries: int
    next_try_at: datetime | None
    error_code: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime


_ATTEMPT_COLUMNS = """
    id, user_id, unit, crossing_key, trigger, status, order_id, amount_minor, currency,
    payment_method_id, provider_payment_id, tries, next_try_at, error_code, error, created_at,
    updated_at
"""


def _attempt(r: asyncpg.Record) -> Attempt:
    return Attempt(
        id=str(r["id"]),
        user_id=r["user_id"],
        unit=r["unit"],
        crossing_key=r["crossing_key"],
        trigger=r["trigger"],
        status=r["status"],
        order_id=None if r["order_id"] is None else str(r["order_id"]),
        amount=Money(r["amount_minor"], r["currency"]),
        payment_method_id=r["payment_method_id"],
        provider_payment_id=r["provider_payment_id"],
        tries=r["tries"],
        next_try_at=r["next_try_at"],
        error_code=r["error_code"],
        error=r["error"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


async def in_flight(conn: Connection, user_id: str, unit: str) -> Attempt | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_ATTEMPT_COLUMNS} FROM auto_recharge_attempts
        WHERE user_id = $1 AND unit = $2
          AND status IN ('pending', 'retrying', 'processing', 'requires_action')
        """,
        user_id,
        unit,
    )
    return None if row is None else _attempt(row)


async def insert_attempt(
    conn: Connection,
    *,
    user_id: str,
    unit: str,
    crossing_key: str,
    trigger: str,
    status: AttemptStatus,
    amount: Money,
    at: datetime,
    error_code: str | None = None,
    error: str | None = None,
    due_at: datetime | None = None,
) -> Attempt | None:
    """The attempt for this crossing, due at `due_at` (default `at`); None when the crossing
    already has one, or another attempt is in flight (both unique keys say no)."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO auto_recharge_attempts (id, user_id, unit, crossing_key, trigger, status,
            amount_minor, currency, next_try_at, error_code, error, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $12, $10, $11, $9, $9)
        ON CONFLICT DO NOTHING
        RETURNING {_ATTEMPT_COLUMNS}
        """,
        uuid.uuid4(),
        user_id,
        unit,
        crossing_key,
        trigger,
        status,
        amount.minor,
        amount.currency,
        at,
        error_code,
        error,
        at if due_at is None else due_at,
    )
    return None if row is None else _attempt(row)


async def attempt_by_crossing(
    conn: Connection, user_id: str, unit: str, crossing_key: str
) -> Attempt | None:
    row = await conn.fetchrow(
        f"SELECT {_ATTEMPT_COLUMNS} FROM auto_recharge_attempts"
        " WHERE user_id = $1 AND unit = $2 AND crossing_key = $3",
        user_id,
        unit,
        crossing_key,
    )
    return None if row is None else _attempt(row)


async def lock_attempt(conn: Connection, attempt_id: str) -> Attempt | None:
    row = await conn.fetchrow(
        f"SELECT {_ATTEMPT_COLUMNS} FROM auto_recharge_attempts WHERE id = $1 FOR UPDATE",
        uuid.UUID(attempt_id),
    )
    return None if row is None else _attempt(row)


async def orders_with_attempts(conn: Connection, order_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these orders an auto-recharge attempt made."""
    rows = await conn.fetch(
        "SELECT order_id FROM auto_recharge_attempts WHERE order_id = ANY($1::uuid[])", order_ids
    )
    return {r["order_id"] for r in rows}


async def attempt_of_order(conn: Connection, order_id: str) -> Attempt | None:
    """The attempt an order was made for; None for other orders, and for an id that is not a
    UUID (a notification naming someone else's order: the orders' handler reports it)."""
    oid = parse_id(order_id)
    if oid is None:
        return None
    row = await conn.fetchrow(
        f"SELECT {_ATTEMPT_COLUMNS} FROM auto_recharge_attempts WHERE order_id = $1 FOR UPDATE",
        oid,
    )
    return None if row is None else _attempt(row)


async def list_attempts(conn: Connection, user_id: str, limit: int) -> list[Attempt]:
    rows = await conn.fetch(
        f"SELECT {_ATTEMPT_COLUMNS} FROM auto_recharge_attempts WHERE user_id = $1"
        " ORDER BY created_at DESC, id DESC LIMIT $2",
        user_id,
        limit,
    )
    return [_attempt(r) for r in rows]


async def usage(
    conn: Connection,
    user_id: str,
    unit: str,
    *,
    month_start: datetime,
    day_start: datetime,
    currency: str,
    excluding: str | None = None,
) -> Usage:
    row = await conn.fetchrow(
        """
        SELECT COALESCE(sum(amount_minor) FILTER (WHERE currency = $5), 0) AS month_minor,
               count(*) FILTER (WHERE created_at >= $4) AS today
        FROM auto_recharge_attempts
        WHERE user_id = $1 AND unit = $2 AND created_at >= $3 AND status = ANY($6::text[])
          AND ($7::uuid IS NULL OR id <> $7)
        """,
        user_id,
        unit,
        month_start,
        day_start,
        currency,
        list(COUNTED),
        None if excluding is None else uuid.UUID(excluding),
    )
    assert row is not None
    return Usage(month_minor=int(row["month_minor"]), today=int(row["today"]))


async def claim_due(
    conn: Connection, now: datetime, lease_until: datetime, limit: int
) -> list[str]:
    """Attempts due to charge, claimed until `lease_until` (replicas skip what others hold)."""
    rows = await conn.fetch(
        """
        UPDATE auto_recharge_attempts SET next_try_at = $2
        WHERE id IN (
            SELECT id FROM auto_recharge_attempts
            WHERE status IN ('pending', 'retrying') AND next_try_at <= $1
            ORDER BY next_try_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING id
        """,
        now,
        lease_until,
        limit,
    )
    return [str(r["id"]) for r in rows]


async def set_order(
    conn: Connection, attempt_id: str, order_id: str, method_id: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE auto_recharge_attempts SET order_id = $2, payment_method_id = $3, updated_at = $4"
        " WHERE id = $1",
        uuid.UUID(attempt_id),
        uuid.UUID(order_id),
        method_id,
        at,
    )


async def finish_try(
    conn: Connection,
    attempt_id: str,
    *,
    status: AttemptStatus,
    tries: int,
    next_try_at: datetime | None,
    provider_payment_id: str | None,
    error_code: str | None,
    error: str | None,
    at: datetime,
) -> None:
    await conn.execute(
        """
        UPDATE auto_recharge_attempts SET status = $2, tries = $3, next_try_at = $4,
            provider_payment_id = COALESCE($5, provider_payment_id), error_code = $6, error = $7,
            updated_at = $8
        WHERE id = $1
        """,
        uuid.UUID(attempt_id),
        status,
        tries,
        next_try_at,
        provider_payment_id,
        error_code,
        error,
        at,
    )
