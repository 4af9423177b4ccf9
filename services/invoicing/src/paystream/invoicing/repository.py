"""Invoice SQL: plain, named, parameterized queries on a connection the caller owns.

Nothing here commits: the transaction belongs to the consumed batch or the HTTP request. Issuing
is set-based: a batch's invoices go in with one statement of parallel arrays (`unnest`), its
numbers with one statement per year.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from paystream.invoicing.domain import Invoice, NewInvoice
from paystream.shared.db import Connection
from paystream.shared.pagination import KeysetCursor

_COLUMNS = """
    id, number, order_id, user_id, package_id, description, credits, amount_minor, currency,
    provider, provider_payment_id, status, paid_at, issued_at, payment_event_id
"""

INVOICED_ORDERS = """
SELECT order_id FROM invoices WHERE order_id = ANY($1::text[])
"""

# Takes a block of `$2` numbers of the year in one statement and returns its last number (the
# block is last - $2 + 1 .. last). The counter row stays locked until the transaction ends:
# issuers of one year queue here, and a rollback gives the whole block back to the next in line.
TAKE_INVOICE_NUMBERS = """
INSERT INTO invoice_sequences (year, last_number) VALUES ($1, $2)
ON CONFLICT (year) DO UPDATE SET last_number = invoice_sequences.last_number + EXCLUDED.last_number
RETURNING last_number
"""

# A whole batch in one statement. ORDER BY the position and clock_timestamp() (evaluated row by
# row, not once like now()): invoices issued in one batch keep their issuing order in time.
INSERT_INVOICES = """
INSERT INTO invoices (
    id, number, order_id, user_id, package_id, description, credits, amount_minor, currency,
    provider, provider_payment_id, status, paid_at, issued_at, payment_event_id
)
SELECT i.id, i.number, i.order_id, i.user_id, i.package_id, i.description, i.credits,
       i.amount_minor, i.currency, i.provider, i.provider_payment_id, i.status, i.paid_at,
       clock_timestamp(), i.payment_event_id
FROM unnest(
    $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
    $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[],
    $14::uuid[]
) WITH ORDINALITY AS i (
    id, number, order_id, user_id, package_id, description, credits, amount_minor, currency,
    provider, provider_payment_id, status, paid_at, payment_event_id, position
)
ORDER BY i.position
ON CONFLICT (order_id) DO NOTHING
RETURNING order_id, issued_at
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


async def take_invoice_numbers(conn: Connection, year: int, count: int) -> int:
    """Take `count` numbers of the year; returns the last one of the block."""
    last: int = await conn.fetchval(TAKE_INVOICE_NUMBERS, year, count)
    return last


async def insert_invoices(conn: Connection, invoices: Sequence[NewInvoice]) -> dict[str, datetime]:
    """Insert the invoices in the order given; returns order id -> issued_at of those inserted.

    An order that already has an invoice is skipped (and missing from the answer); a number
    already used is refused (UniqueViolationError).
    """
    if not invoices:
        return {}
    rows = await conn.fetch(
        INSERT_INVOICES,
        [i.id for i in invoices],
        [i.number for i in invoices],
        [i.order_id for i in invoices],
        [i.user_id for i in invoices],
        [i.package_id for i in invoices],
        [i.description for i in invoices],
        [i.credits for i in invoices],
        [i.amount_minor for i in invoices],
        [i.currency for i in invoices],
        [i.provider for i in invoices],
        [i.provider_payment_id for i in invoices],
        [i.status for i in invoices],
        [i.paid_at for i in invoices],
        [i.payment_event_id for i in invoices],
    )
    return {r["order_id"]: r["issued_at"] for r in rows}


async def get_invoice(conn: Connection, invoice_id: uuid.UUID) -> Invoice | None:
    row = await conn.fetchrow(GET_INVOICE, invoice_id)
    return None if row is None else _invoice(row)


async def list_invoices(
    conn: Connection,
    *,
    user_id: str | None,
    order_id: str | None,
    after: KeysetCursor | None,
    limit: int,
) -> list[Invoice]:
    """Newest first; `user_id=None` lists everyone's, `after` continues past a cursor."""
    rows = await conn.fetch(
        LIST_INVOICES,
        user_id,
        order_id,
        after.at if after else None,
        after.id if after else None,
        limit,
    )
    return [_invoice(r) for r in rows]
