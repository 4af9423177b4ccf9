"""Stripe customers and saved payment methods in PostgreSQL. Takes a connection, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from paystream.shared.db import Connection


@dataclass(frozen=True, slots=True)
class SavedMethod:
    id: str
    user_id: str
    customer_id: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    attached_at: datetime


_COLUMNS = (
    "id, user_id, customer_id, type, brand, last4, exp_month, exp_year, is_default, attached_at"
)


def _method(r: asyncpg.Record) -> SavedMethod:
    return SavedMethod(**dict(r))


async def customer_of(conn: Connection, user_id: str) -> str | None:
    found: str | None = await conn.fetchval(
        "SELECT customer_id FROM stripe_customers WHERE user_id = $1", user_id
    )
    return found


async def user_of_customer(conn: Connection, customer_id: str) -> str | None:
    found: str | None = await conn.fetchval(
        "SELECT user_id FROM stripe_customers WHERE customer_id = $1", customer_id
    )
    return found


async def insert_customer(conn: Connection, user_id: str, customer_id: str, at: datetime) -> str:
    """Record the user's customer; the one already recorded wins a race (same id: Stripe
    answered both creates from one idempotency key)."""
    await conn.execute(
        """
        INSERT INTO stripe_customers (user_id, customer_id, created_at) VALUES ($1, $2, $3)
        ON CONFLICT (user_id) DO NOTHING
        """,
        user_id,
        customer_id,
        at,
    )
    stored = await customer_of(conn, user_id)
    assert stored is not None
    return stored


async def replace_customer(
    conn: Connection, user_id: str, old: str, new: str, at: datetime
) -> None:
    """The user's customer Stripe lost is replaced; the cards saved on it are gone with it."""
    await conn.execute(
        "UPDATE stripe_customers SET customer_id = $3, created_at = $4"
        " WHERE user_id = $1 AND customer_id = $2",
        user_id,
        old,
        new,
        at,
    )
    await conn.execute(
        "DELETE FROM saved_payment_methods WHERE user_id = $1 AND customer_id = $2", user_id, old
    )


async def list_methods(conn: Connection, user_id: str) -> list[SavedMethod]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM saved_payment_methods WHERE user_id = $1 ORDER BY attached_at, id",
        user_id,
    )
    return [_method(r) for r in rows]


async def get_method(conn: Connection, user_id: str, method_id: str) -> SavedMethod | None:
    """The user's saved method; None for an unknown one and for another user's (never leak)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM saved_payment_methods WHERE user_id = $1 AND id = $2",
        user_id,
        method_id,
    )
    return None if row is None else _method(row)


async def method_by_id(conn: Connection, method_id: str) -> SavedMethod | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM saved_payment_methods WHERE id = $1", method_id
    )
    return None if row is None else _method(row)


async def upsert_method(
    conn: Connection,
    *,
    user_id: str,
    customer_id: str,
    method_id: str,
    type: str,
    brand: str | None,
    last4: str | None,
    exp_month: int | None,
    exp_year: int | None,
    at: datetime,
) -> None:
    """Record a method attached to the user's customer; the user's first method becomes their
    default (until Stripe's customer says otherwise)."""
    await conn.execute(
        """
        INSERT INTO saved_payment_methods AS m (id, user_id, customer_id, type, brand, last4,
            exp_month, exp_year, is_default, attached_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
            NOT EXISTS (SELECT 1 FROM saved_payment_methods WHERE user_id = $2 AND is_default),
            $9, $9)
        ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type,
            brand = COALESCE(EXCLUDED.brand, m.brand), last4 = COALESCE(EXCLUDED.last4, m.last4),
            exp_month = COALESCE(EXCLUDED.exp_month, m.exp_month),
            exp_year = COALESCE(EXCLUDED.exp_year, m.exp_year), updated_at = EXCLUDED.updated_at
        WHERE m.user_id = EXCLUDED.user_id
        """,
        method_id,
        user_id,
        customer_id,
        type,
        brand,
        last4,
        exp_month,
        exp_year,
        at,
    )


async def remove_method(conn: Connection, user_id: str, method_id: str) -> bool:
    """Forget a detached method; when it was the default, the oldest remaining one is."""
    removed = await conn.fetchrow(
        "DELETE FROM saved_payment_methods WHERE user_id = $1 AND id = $2 RETURNING is_default",
        user_id,
        method_id,
    )
    if removed is None:
        return False
    if removed["is_default"]:
        await conn.execute(
            """
            UPDATE saved_payment_methods SET is_default = true WHERE id = (
                SELECT id FROM saved_payment_methods WHERE user_id = $1
                ORDER BY attached_at, id LIMIT 1)
            """,
            user_id,
        )
    return True


async def set_default(conn: Connection, user_id: str, method_id: str) -> bool:
    """Make the user's method their default; False when they have no such method."""
    exists = await get_method(conn, user_id, method_id)
    if exists is None:
        return False
    await conn.execute(
        "UPDATE saved_payment_methods SET is_default = false WHERE user_id = $1 AND is_default"
        " AND id <> $2",
        user_id,
        method_id,
    )
    await conn.execute(
        "UPDATE saved_payment_methods SET is_default = true WHERE user_id = $1 AND id = $2",
        user_id,
        method_id,
    )
    return True


async def lock_user(conn: Connection, user_id: str) -> None:
    """Serialize changes to one user's methods (the default flag moves between rows)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('saved_methods:' || $1))", user_id)
