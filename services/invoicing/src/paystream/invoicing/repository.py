"""Invoice SQL: plain, named, parameterized queries on a connection the caller owns.

Nothing here commits: the transaction belongs to the consumed batch or the HTTP request. Issuing
is set-based: a year's invoices of a batch are numbered and go in with one statement of parallel
arrays (`unnest`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from paystream.invoicing.domain import CreditNote, Invoice, NewInvoice, number_prefix
from paystream.shared.db import Connection
from paystream.shared.events import InvoiceLine
from paystream.shared.pagination import KeysetCursor

_COLUMNS = """
    id, number, order_id, user_id, package_id, description, credits, amount_minor, currency,
    provider, provider_payment_id, status, paid_at, issued_at, payment_event_id, refunded_minor,
    ordered_minor, lines::text AS lines
"""

# One probe of the order_id index per order (OFFSET 0 keeps the sub-select a per-row sub-plan),
# whatever the statistics say. As `order_id = ANY($1)`, the plan a connection cached while the
# table was young (before its first ANALYZE) read every invoice for each batch.
INVOICED_ORDERS = """
SELECT k.order_id FROM unnest($1::text[]) AS k(order_id)
WHERE EXISTS (SELECT 1 FROM invoices WHERE invoices.order_id = k.order_id OFFSET 0)
"""

# A year's invoices, numbered and inserted in ONE statement. The CTE takes the year's block of
# `$17` numbers (one per invoice) and locks its counter row until the transaction ends: issuers of
# one year queue here, and a rollback gives the whole block back to the next in line. Everything
# else a batch does for its invoices (drafting them, encoding these arguments) comes before this
# statement, so a batch applied beside it (another replica's, or another consumer lane's when
# PAYSTREAM_CONSUMER_LANES > 1) waits for the counter only while PostgreSQL inserts and the batch
# commits. Numbers follow the position: an earlier event gets the smaller number; six digits,
# widening past 999,999 (`domain.format_invoice_number`). ORDER BY the position and
# clock_timestamp() (evaluated row by row, not once like now()): invoices issued in one batch keep
# their issuing order in time.
ISSUE_INVOICES = """
WITH block AS (
    INSERT INTO invoice_sequences (year, last_number) VALUES ($16, $17)
    ON CONFLICT (year)
    DO UPDATE SET last_number = invoice_sequences.last_number + EXCLUDED.last_number
    RETURNING last_number - $17 AS taken_before
)
INSERT INTO invoices (
    id, number, order_id, user_id, package_id, description, credits, amount_minor, currency,
    provider, provider_payment_id, status, paid_at, issued_at, payment_event_id, ordered_minor,
    lines
)
SELECT i.id,
       $18 || CASE WHEN s.seq < 1000000 THEN lpad(s.seq::text, 6, '0') ELSE s.seq::text END,
       i.order_id, i.user_id, i.package_id, i.description, i.credits, i.amount_minor,
       i.currency, i.provider, i.provider_payment_id, i.status, i.paid_at, clock_timestamp(),
       i.payment_event_id, i.ordered_minor, i.lines::jsonb
FROM unnest(
    $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::uuid[],
    $14::bigint[], $15::text[]
) WITH ORDINALITY AS i (
    id, order_id, user_id, package_id, description, credits, amount_minor, currency,
    provider, provider_payment_id, status, paid_at, payment_event_id, ordered_minor, lines,
    position
)
CROSS JOIN block
CROSS JOIN LATERAL (SELECT block.taken_before + i.position AS seq) AS s
ORDER BY i.position
ON CONFLICT (order_id) DO NOTHING
RETURNING order_id, number, issued_at
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
        refunded_minor=row["refunded_minor"],
        ordered_minor=(
            None if row["ordered_minor"] == row["amount_minor"] else row["ordered_minor"]
        ),
        # Read as text and parsed here: the same on any connection, whatever its jsonb codec.
        lines=tuple(InvoiceLine.model_validate(line) for line in orjson.loads(row["lines"])),
    )


async def invoiced_orders(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    """The orders among `order_ids` that already have an invoice."""
    if not order_ids:
        return set()
    rows = await conn.fetch(INVOICED_ORDERS, list(order_ids))
    return {r["order_id"] for r in rows}


async def issue_numbered(
    conn: Connection, year: int, invoices: Sequence[NewInvoice]
) -> dict[str, tuple[str, datetime]]:
    """Number `invoices` (all of `year`, in the order given) from the year's counter and insert
    them; returns order id -> (number, issued_at) of those inserted.

    An order that already has an invoice is skipped (and missing from the answer): its number
    was taken all the same, so the caller rolls back to give the block back. A number already
    used is refused (UniqueViolationError).
    """
    if not invoices:
        return {}
    rows = await conn.fetch(
        ISSUE_INVOICES,
        [i.id for i in invoices],
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
        [i.amount_minor if i.ordered_minor is None else i.ordered_minor for i in invoices],
        # JSON text, cast in SQL: a list of lists would be sent as a two-dimensional array.
        [
            orjson.dumps([line.model_dump(mode="json") for line in i.lines]).decode()
            for i in invoices
        ],
        year,
        len(invoices),
        number_prefix(year),
    )
    return {r["order_id"]: (r["number"], r["issued_at"]) for r in rows}


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


# ---- refunds and credit notes ----------------------------------------------------------------

_CN_COLUMNS = """
    id, number, refund_key, invoice_id, invoice_number, order_id, user_id, amount_minor,
    currency, credits, reason, refund_id, provider, provider_refund_id, refunded_at, issued_at,
    refund_event_id
"""


@dataclass(frozen=True, slots=True)
class ReceivedRefund:
    """A refund as recorded, before or without its credit note."""

    refund_key: str
    event_id: uuid.UUID
    order_id: str
    user_id: str
    refund_id: str | None
    provider: str
    provider_refund_id: str
    provider_payment_id: str | None
    amount_minor: int
    currency: str
    reason: str | None
    refunded_at: datetime


def _received(row: asyncpg.Record) -> ReceivedRefund:
    return ReceivedRefund(
        refund_key=row["refund_key"],
        event_id=row["event_id"],
        order_id=row["order_id"],
        user_id=row["user_id"],
        refund_id=row["refund_id"],
        provider=row["provider"],
        provider_refund_id=row["provider_refund_id"],
        provider_payment_id=row["provider_payment_id"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        reason=row["reason"],
        refunded_at=row["refunded_at"],
    )


def _credit_note(row: asyncpg.Record) -> CreditNote:
    return CreditNote(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - asyncpg Record


async def invoiced_orders_with_waiting_refunds(conn: Connection, limit: int) -> list[str]:
    """Orders with a refund still `pending` although the order has an invoice (see
    `service.settle_waiting_refunds`)."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT r.order_id FROM refunds r
        WHERE r.status = 'pending'
          AND EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = r.order_id)
        ORDER BY r.order_id LIMIT $1
        """,
        limit,
    )
    return [r["order_id"] for r in rows]


# Up to this many orders with waiting refunds are read whole and matched in Python.
_FEW_PENDING = 1000


async def pending_refunds_of(conn: Connection, order_ids: Sequence[str]) -> list[ReceivedRefund]:
    """Refunds waiting for an invoice of these orders, in arrival order, locked (a concurrent
    issuer that credited one first takes it out of the answer once it commits).

    Asked by every batch that issues invoices. Refunds wait for an invoice rarely and briefly,
    so the waiting orders (a partial index, usually empty) are read and matched here first, which
    costs a fraction of sending the batch's order ids; most batches stop there.
    """
    waiting = await conn.fetch(
        "SELECT DISTINCT order_id FROM refunds WHERE status = 'pending' LIMIT $1",
        _FEW_PENDING + 1,
    )
    if len(waiting) <= _FEW_PENDING:
        order_ids = sorted({r["order_id"] for r in waiting}.intersection(order_ids))
        if not order_ids:
            return []
    rows = await conn.fetch(
        """
        SELECT * FROM refunds WHERE status = 'pending' AND order_id = ANY($1::text[])
        ORDER BY seq FOR UPDATE
        """,
        list(order_ids),
    )
    return [_received(r) for r in rows]


async def record_refunds(conn: Connection, refunds: Sequence[ReceivedRefund]) -> set[str]:
    """Record refunds as pending, once per refund_key; returns the keys new to the table."""
    rows = await conn.fetch(
        """
        INSERT INTO refunds (refund_key, event_id, order_id, user_id, refund_id, provider,
                             provider_refund_id, provider_payment_id, amount_minor, currency,
                             reason, refunded_at)
        SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[],
                             $11::text[], $12::timestamptz[])
        ON CONFLICT (refund_key) DO NOTHING
        RETURNING refund_key
        """,
        [r.refund_key for r in refunds],
        [r.event_id for r in refunds],
        [r.order_id for r in refunds],
        [r.user_id for r in refunds],
        [r.refund_id for r in refunds],
        [r.provider for r in refunds],
        [r.provider_refund_id for r in refunds],
        [r.provider_payment_id for r in refunds],
        [r.amount_minor for r in refunds],
        [r.currency for r in refunds],
        [r.reason for r in refunds],
        [r.refunded_at for r in refunds],
    )
    return {r["refund_key"] for r in rows}


async def lock_invoices_of_orders(conn: Connection, order_ids: Sequence[str]) -> dict[str, Invoice]:
    """The invoices of these orders, locked in id order until the transaction ends: credit notes
    of one invoice are computed from its refunded total one writer at a time."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM invoices WHERE order_id = ANY($1::text[]) ORDER BY id FOR UPDATE",
        list(order_ids),
    )
    return {r["order_id"]: _invoice(r) for r in rows}


async def credited_credits(
    conn: Connection, invoice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Credits already named by each invoice's credit notes."""
    rows = await conn.fetch(
        "SELECT invoice_id, sum(credits) AS credits FROM credit_notes"
        " WHERE invoice_id = ANY($1::uuid[]) GROUP BY invoice_id",
        list(invoice_ids),
    )
    return {r["invoice_id"]: int(r["credits"]) for r in rows}


# Same block technique as the invoice numbers, on the credit notes' own counter.
TAKE_CREDIT_NOTE_NUMBERS = """
INSERT INTO credit_note_sequences (year, last_number) VALUES ($1, $2)
ON CONFLICT (year) DO UPDATE
    SET last_number = credit_note_sequences.last_number + EXCLUDED.last_number
RETURNING last_number
"""


async def take_credit_note_numbers(conn: Connection, year: int, count: int) -> int:
    """Take `count` credit note numbers of the year; returns the last one of the block."""
    last: int = await conn.fetchval(TAKE_CREDIT_NOTE_NUMBERS, year, count)
    return last


async def insert_credit_notes(conn: Connection, notes: Sequence[CreditNote]) -> None:
    await conn.execute(
        """
        INSERT INTO credit_notes (id, number, refund_key, invoice_id, invoice_number, order_id,
                                  user_id, amount_minor, currency, credits, reason, refund_id,
                                  provider, provider_refund_id, refunded_at, issued_at,
                                  refund_event_id)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[],
                             $6::text[], $7::text[], $8::bigint[], $9::text[], $10::bigint[],
                             $11::text[], $12::text[], $13::text[], $14::text[],
                             $15::timestamptz[], $16::timestamptz[], $17::uuid[])
        """,
        [n.id for n in notes],
        [n.number for n in notes],
        [n.refund_key for n in notes],
        [n.invoice_id for n in notes],
        [n.invoice_number for n in notes],
        [n.order_id for n in notes],
        [n.user_id for n in notes],
        [n.amount_minor for n in notes],
        [n.currency for n in notes],
        [n.credits for n in notes],
        [n.reason for n in notes],
        [n.refund_id for n in notes],
        [n.provider for n in notes],
        [n.provider_refund_id for n in notes],
        [n.refunded_at for n in notes],
        [n.issued_at for n in notes],
        [n.refund_event_id for n in notes],
    )


async def settle_refunds(
    conn: Connection, *, credited: Sequence[str], rejected: Sequence[tuple[str, str]]
) -> None:
    """Pending refunds leave `pending`: credited (their credit note exists) or rejected (why)."""
    keys = [*credited, *(k for k, _ in rejected)]
    if not keys:
        return
    await conn.execute(
        """
        UPDATE refunds AS r SET status = s.status, rejection = s.rejection
        FROM unnest($1::text[], $2::text[], $3::text[]) AS s (refund_key, status, rejection)
        WHERE r.refund_key = s.refund_key AND r.status = 'pending'
        """,
        keys,
        ["credited"] * len(credited) + ["rejected"] * len(rejected),
        [None] * len(credited) + [why for _, why in rejected],
    )


async def add_refunded(conn: Connection, refunded: dict[uuid.UUID, int]) -> None:
    """Add refunded amounts to invoices; their status follows (the CHECK holds it to the rule)."""
    await conn.execute(
        """
        UPDATE invoices AS i
        SET refunded_minor = i.refunded_minor + d.delta,
            status = CASE
                WHEN i.refunded_minor + d.delta = 0 THEN 'paid'
                WHEN i.refunded_minor + d.delta < i.amount_minor THEN 'partially_refunded'
                ELSE 'refunded'
            END
        FROM unnest($1::uuid[], $2::bigint[]) AS d (id, delta)
        WHERE i.id = d.id
        """,
        list(refunded),
        list(refunded.values()),
    )


async def credit_notes_of_invoices(
    conn: Connection, invoice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CreditNote]]:
    """Each invoice's credit notes, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_CN_COLUMNS} FROM credit_notes WHERE invoice_id = ANY($1::uuid[])"
        " ORDER BY invoice_id, issued_at, id",
        list(invoice_ids),
    )
    out: dict[uuid.UUID, list[CreditNote]] = {}
    for r in rows:
        out.setdefault(r["invoice_id"], []).append(_credit_note(r))
    return out


async def get_credit_note(conn: Connection, credit_note_id: uuid.UUID) -> CreditNote | None:
    row = await conn.fetchrow(
        f"SELECT {_CN_COLUMNS} FROM credit_notes WHERE id = $1", credit_note_id
    )
    return None if row is None else _credit_note(row)


async def list_credit_notes(
    conn: Connection,
    *,
    user_id: str | None,
    invoice_id: uuid.UUID | None,
    after: KeysetCursor | None,
    limit: int,
    order_id: str | None = None,
) -> list[CreditNote]:
    """Newest first; `user_id=None` lists everyone's, `after` continues past a cursor."""
    rows = await conn.fetch(
        f"""
        SELECT {_CN_COLUMNS} FROM credit_notes
        WHERE ($1::text IS NULL OR user_id = $1)
          AND ($2::uuid IS NULL OR invoice_id = $2)
          AND ($3::timestamptz IS NULL OR (issued_at, id) < ($3, $4::uuid))
          AND ($6::text IS NULL OR order_id = $6)
        ORDER BY issued_at DESC, id DESC
        LIMIT $5
        """,
        user_id,
        invoice_id,
        after.at if after else None,
        after.id if after else None,
        limit,
        order_id,
    )
    return [_credit_note(r) for r in rows]
