"""SQL of the documents: billing profiles, the seller's details, a document with its parties."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from paystream.shared.db import Connection


@dataclass(frozen=True, slots=True)
class BillingProfile:
    user_id: str
    company_name: str
    address: str
    tax_id: str
    email: str
    updated_at: datetime


GET_PROFILE = """
SELECT user_id, company_name, address, tax_id, email, updated_at
FROM billing_profiles WHERE user_id = $1
"""

PUT_PROFILE = """
INSERT INTO billing_profiles (user_id, company_name, address, tax_id, email)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id) DO UPDATE
    SET company_name = EXCLUDED.company_name, address = EXCLUDED.address,
        tax_id = EXCLUDED.tax_id, email = EXCLUDED.email, updated_at = now()
RETURNING user_id, company_name, address, tax_id, email, updated_at
"""

# Written when invoicing starts: the documents issued from then on capture it (migration 0003).
PUT_SELLER = """
INSERT INTO seller_profile (id, details) VALUES (1, $1::jsonb)
ON CONFLICT (id) DO UPDATE SET details = EXCLUDED.details, updated_at = now()
WHERE seller_profile.details IS DISTINCT FROM EXCLUDED.details
"""

INVOICE_PARTIES = "SELECT buyer, seller FROM invoices WHERE id = $1"

CREDIT_NOTE_PARTIES = """
SELECT i.buyer, c.seller, i.issued_at AS invoice_issued_at
FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id
WHERE c.id = $1
"""


async def get_profile(conn: Connection, user_id: str) -> BillingProfile | None:
    row = await conn.fetchrow(GET_PROFILE, user_id)
    return None if row is None else BillingProfile(**dict(row))


async def put_profile(
    conn: Connection, user_id: str, *, company_name: str, address: str, tax_id: str, email: str
) -> BillingProfile:
    row = await conn.fetchrow(PUT_PROFILE, user_id, company_name, address, tax_id, email)
    assert row is not None
    return BillingProfile(**dict(row))


async def put_seller(conn: Connection, details: dict[str, Any]) -> None:
    await conn.execute(PUT_SELLER, details)


def _json(value: Any) -> dict[str, Any] | None:
    # The shared pool decodes jsonb; a bare connection hands it over as text.
    if value is None:
        return None
    out: dict[str, Any] = orjson.loads(value) if isinstance(value, str | bytes) else dict(value)
    return out


async def invoice_parties(
    conn: Connection, invoice_id: uuid.UUID
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(buyer, seller) as captured when the invoice was issued."""
    row = await conn.fetchrow(INVOICE_PARTIES, invoice_id)
    if row is None:
        return None, None
    return _json(row["buyer"]), _json(row["seller"])


async def credit_note_parties(
    conn: Connection, credit_note_id: uuid.UUID
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, datetime | None]:
    """(buyer of the invoice it corrects, seller when the credit note was issued, the invoice's
    issue date)."""
    row = await conn.fetchrow(CREDIT_NOTE_PARTIES, credit_note_id)
    if row is None:
        return None, None, None
    return _json(row["buyer"]), _json(row["seller"]), row["invoice_issued_at"]
