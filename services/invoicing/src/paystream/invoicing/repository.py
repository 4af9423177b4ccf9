"""Invoice SQL: plain, named, parameterized queries on a connection the caller owns.

Nothing here commits: the transaction belongs to the consumed batch or the HTTP request.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from paystream.invoicing.domain import Cursor, Invoice
from paystream.shared.db import Connection

_COLUMNS = """
    id, number, order_id, user_id, package_id, description, credits, amount_minor, currency,
    provider, provider_payment_id, status, paid_at, issued_at, payment_event_id
"""

INVOICED_ORDERS = """
SELECT order_id FROM invoices WHERE order_id = ANY($1::text[])
"""

# Takes the next number of the year and holds the counter row's lock until the transaction ends:
# issuers of one year queue here, and a rollback gives the number back to the next in line.
NEXT_INVOICE_NUMBER = """
INSERT INTO invoice_sequences (year, last_number) VALUES ($1, 1)
ON CONFLICT (year) DO UPDATE SET last_number = invoice_sequences.last_number + 1
RETURNING last_number
"""

# clock_timestamp(), not now(): invoices issued in one batch keep their issuing order in time.
INSERT_INVOICE = f"""
INSERT INTO invoices (
    id, number, order_id, user_id, package_id, description, credits, amount_minor, currency,
    provider, provider_payment_id, status, paid_at, issued_at, payment_event_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, clock_timestamp(), $14)
ON CONFLICT (order_id) DO NOTHING
RETURNING {_COLUMNS}
"""

GET_INVOICE = f"""
SELECT {_COLUMNS} FROM invoices WHERE id = $1
"""

LIST_INVOICES = f"""
SELECT {_COLUMNS} FROM invoices
WHERE ($1::text IS NULL OR user_id = $1)
  AND ($2::text IS NULL OR order_id = $2)
  AND ($3::timestamptz IS NULL OR (issued_at, id) < ($3, $4::uuid))
ORDER BY issued_at DESC, id DESC
LIMIT $5
"""


def _invoice(row: asyncpg.Record) -> Invoice:
    return Invoice(
        id=row["id"],
        number=row["number"],
        order_id=row["order_id"],
        user_id=row["user_id"],
        package_id=row["package_id"],
        description=row["description"],
        credits=row["credits"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        provider=row["provider"],
        provider_payment_id=row["provider_payment_id"],
        status=row["status"],
        paid_at=row["paid_at"],
        issued_at=row["issued_at"],
        payment_event_id=row["payment_event_id"],
    )


async def invoiced_orders(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    """The orders among `order_ids` that already have an invoice."""
    if not order_ids:
        return set()
    rows = await conn.fetch(INVOICED_ORDERS, list(order_ids))
    return {r["order_id"] for r in rows}


async def next_invoice_number(conn: Connection, year: int) -> int:
    number: int = await conn.fetchval(NEXT_INVOICE_NUMBER, year)
    return number


async def insert_invoice(
    conn: Connection,
    *,
    id: uuid.UUID,
    number: str,
    order_id: str,
    user_id: str,
    package_id: str | None,
    description: str,
    credits: int,
    amount_minor: int,
    currency: str,
    provider: str,
    provider_payment_id: str | None,
    status: str,
    paid_at: datetime,
    payment_event_id: uuid.UUID,
) -> Invoice | None:
    """Insert the invoice; None if the order already has one (nothing is inserted then)."""
    row = await conn.fetchrow(
        INSERT_INVOICE,
        id,
        number,
        order_id,
        user_id,
        package_id,
        description,
        credits,
        amount_minor,
        currency,
        provider,
        provider_payment_id,
        status,
        paid_at,
        payment_event_id,
    )
    return None if row is None else _invoice(row)


async def get_invoice(conn: Connection, invoice_id: uuid.UUID) -> Invoice | None:
    row = await conn.fetchrow(GET_INVOICE, invoice_id)
    return None if row is None else _invoice(row)


async def list_invoices(
    conn: Connection,
    *,
    user_id: str | None,
    order_id: str | None,
    after: Cursor | None,
    limit: int,
) -> list[Invoice]:
    """Newest first; `user_id=None` lists everyone's, `after` continues past a cursor."""
    rows = await conn.fetch(
        LIST_INVOICES,
        user_id,
        order_id,
        after.issued_at if after else None,
        after.id if after else None,
        limit,
    )
    return [_invoice(r) for r in rows]
