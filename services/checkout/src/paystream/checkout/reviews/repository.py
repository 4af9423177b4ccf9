"""Payment reviews in PostgreSQL: named, parameterized SQL. Takes a connection, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from paystream.checkout.reviews.domain import Review, ReviewStatus
from paystream.shared.db import Connection
from paystream.shared.pagination import KeysetCursor

_COLUMNS = """
    id, order_id, user_id, provider, provider_payment_id, provider_event_id, event_id,
    amount_minor, currency, reasons, details, blocking, status, decided_by, decided_at,
    decision_reason, refund_id, created_at
"""


def _review(r: asyncpg.Record) -> Review:
    return Review(
        id=r["id"],
        order_id=r["order_id"],
        user_id=r["user_id"],
        provider=r["provider"],
        provider_payment_id=r["provider_payment_id"],
        provider_event_id=r["provider_event_id"],
        event_id=r["event_id"],
        amount_minor=r["amount_minor"],
        currency=r["currency"],
        reasons=tuple(r["reasons"]),
        details=r["details"],
        blocking=r["blocking"],
        status=ReviewStatus(r["status"]),
        decided_by=r["decided_by"],
        decided_at=r["decided_at"],
        decision_reason=r["decision_reason"],
        refund_id=r["refund_id"],
        created_at=r["created_at"],
    )


# One review per provider payment (a provider announces one payment in several events), or per
# event when the provider names no payment: a redelivery opens nothing new.
INSERT_REVIEW = f"""
INSERT INTO payment_reviews (
    id, order_id, user_id, provider, provider_payment_id, provider_event_id, event_id,
    amount_minor, currency, reasons, details, blocking, created_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT DO NOTHING
RETURNING {_COLUMNS}
"""


async def insert_review(
    conn: Connection,
    *,
    order_id: uuid.UUID | None,
    user_id: str | None,
    provider: str,
    provider_payment_id: str | None,
    provider_event_id: str,
    event_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    reasons: Sequence[str],
    details: dict[str, Any],
    blocking: bool,
    at: datetime,
) -> Review | None:
    """The new review, or None when this payment (or event) already has one."""
    row = await conn.fetchrow(
        INSERT_REVIEW,
        uuid.uuid4(),
        order_id,
        user_id,
        provider,
        provider_payment_id,
        provider_event_id,
        event_id,
        amount_minor,
        currency,
        list(reasons),
        details,
        blocking,
        at,
    )
    return None if row is None else _review(row)


GET_REVIEW_FOR_UPDATE = f"SELECT {_COLUMNS} FROM payment_reviews WHERE id = $1 FOR UPDATE"
GET_REVIEW = f"SELECT {_COLUMNS} FROM payment_reviews WHERE id = $1"


async def get_review(conn: Connection, review_id: uuid.UUID) -> Review | None:
    row = await conn.fetchrow(GET_REVIEW, review_id)
    return None if row is None else _review(row)


async def get_review_for_update(conn: Connection, review_id: uuid.UUID) -> Review | None:
    row = await conn.fetchrow(GET_REVIEW_FOR_UPDATE, review_id)
    return None if row is None else _review(row)


DECIDE = f"""
UPDATE payment_reviews
SET status = $2, decided_by = $3, decided_at = $4, decision_reason = $5,
    refund_id = COALESCE($6, refund_id)
WHERE id = $1 AND status = 'open'
RETURNING {_COLUMNS}
"""


async def decide(
    conn: Connection,
    review_id: uuid.UUID,
    *,
    status: ReviewStatus,
    by: str,
    at: datetime,
    reason: str,
    refund_id: uuid.UUID | None = None,
) -> Review:
    row = await conn.fetchrow(DECIDE, review_id, status.value, by, at, reason, refund_id)
    assert row is not None, f"review {review_id} is not open inside its transaction"
    return _review(row)


LIST_REVIEWS = f"""
SELECT {_COLUMNS} FROM payment_reviews
WHERE ($1::text IS NULL OR status = $1)
  AND ($2::uuid IS NULL OR order_id = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
ORDER BY created_at DESC, id DESC
LIMIT $5
"""


async def list_reviews(
    conn: Connection,
    *,
    status: ReviewStatus | None,
    order_id: uuid.UUID | None,
    before: KeysetCursor | None,
    limit: int,
) -> list[Review]:
    rows = await conn.fetch(
        LIST_REVIEWS,
        None if status is None else status.value,
        order_id,
        None if before is None else before.at,
        None if before is None else before.id,
        limit,
    )
    return [_review(r) for r in rows]
