"""Second payments in PostgreSQL: named, parameterized SQL. Takes a connection, never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from paystream.checkout.second_payments.domain import Action, SecondPayment
from paystream.shared.db import Connection
from paystream.shared.money import Money

_COLUMNS = """
    id, order_id, user_id, provider, provider_payment_id, provider_session_id, provider_event_id,
    amount_minor, currency, paid_at, action, action_reason, refund_id, credited_order_id,
    created_at
"""


def _payment(r: asyncpg.Record) -> SecondPayment:
    return SecondPayment(
        id=str(r["id"]),
        order_id=str(r["order_id"]),
        user_id=r["user_id"],
        provider=r["provider"],
        provider_payment_id=r["provider_payment_id"],
        provider_session_id=r["provider_session_id"],
        provider_event_id=r["provider_event_id"],
        amount=Money(r["amount_minor"], r["currency"]),
        paid_at=r["paid_at"],
        action=Action(r["action"]),
        action_reason=r["action_reason"],
        refund_id=None if r["refund_id"] is None else str(r["refund_id"]),
        credited_order_id=None if r["credited_order_id"] is None else str(r["credited_order_id"]),
        created_at=r["created_at"],
    )


INSERT_SECOND_PAYMENT = f"""
INSERT INTO second_payments (
    id, order_id, user_id, provider, provider_payment_id, provider_session_id, provider_event_id,
    amount_minor, currency, paid_at, action, action_reason, created_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT ON CONSTRAINT second_payments_provider_payment DO NOTHING
RETURNING {_COLUMNS}
"""


async def insert_second_payment(
    conn: Connection,
    *,
    order_id: uuid.UUID,
    user_id: str,
    provider: str,
    provider_payment_id: str,
    provider_session_id: str | None,
    provider_event_id: str,
    amount: Money,
    paid_at: datetime,
    action: Action,
    action_reason: str | None,
    at: datetime,
) -> SecondPayment | None:
    """None when this payment was recorded before (a replayed or second notification of it)."""
    row = await conn.fetchrow(
        INSERT_SECOND_PAYMENT,
        uuid.uuid4(),
        order_id,
        user_id,
        provider,
        provider_payment_id,
        provider_session_id,
        provider_event_id,
        amount.minor,
        amount.currency,
        paid_at,
        action.value,
        action_reason,
        at,
    )
    return None if row is None else _payment(row)


SET_OUTCOME = """
UPDATE second_payments SET refund_id = COALESCE($2, refund_id),
    credited_order_id = COALESCE($3, credited_order_id)
WHERE id = $1
"""


async def set_outcome(
    conn: Connection,
    payment_id: uuid.UUID,
    *,
    refund_id: uuid.UUID | None = None,
    credited_order_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(SET_OUTCOME, payment_id, refund_id, credited_order_id)


GET_BY_PAYMENT = f"""
SELECT {_COLUMNS} FROM second_payments WHERE provider = $1 AND provider_payment_id = $2
"""


async def get_by_payment(
    conn: Connection, provider: str, provider_payment_id: str
) -> SecondPayment | None:
    row = await conn.fetchrow(GET_BY_PAYMENT, provider, provider_payment_id)
    return None if row is None else _payment(row)


OF_ORDER = f"SELECT {_COLUMNS} FROM second_payments WHERE order_id = $1 ORDER BY created_at, id"


async def second_payments_of(conn: Connection, order_id: uuid.UUID) -> list[SecondPayment]:
    return [_payment(r) for r in await conn.fetch(OF_ORDER, order_id)]


# Refunds of second payments the provider has not acknowledged yet: the refunder asks for them
# (the provider call is idempotent on the refund id, so asking again is safe).
UNASKED_REFUNDS = """
SELECT id FROM refunds
WHERE provider_payment_id IS NOT NULL AND status = 'pending' AND provider_refund_id IS NULL
ORDER BY created_at
LIMIT $1
"""


async def unasked_refunds(conn: Connection, limit: int) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(UNASKED_REFUNDS, limit)]
