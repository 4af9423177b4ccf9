"""The SQL of the daily settlement: what paystream booked (paid orders and second payments of
orders, refunds) by reference and by day, and each run's lines (a payment's provider fee among
them)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg

from paystream.checkout.settlement.domain import Booked, ReportLine
from paystream.shared.db import Connection
from paystream.shared.money import Money

_PAYMENT = """
SELECT * FROM (
    SELECT id, provider, provider_session_id, provider_payment_id, paid_at,
           COALESCE(paid_amount_minor, amount_minor) AS minor,
           COALESCE(paid_currency, currency) AS currency
    FROM orders
    UNION ALL
    -- A second payment of an order (second_payments) is money the provider took too: booked
    -- under its order, so the day's report matches it (and its refund) instead of calling it
    -- missing in paystream.
    SELECT order_id, provider, provider_session_id, provider_payment_id, paid_at, amount_minor,
           currency
    FROM second_payments
) AS payments
"""

PAYMENTS_BY_REFERENCE = f"""
{_PAYMENT}
WHERE provider = $1 AND paid_at IS NOT NULL
  AND (provider_session_id = ANY($2::text[]) OR provider_payment_id = ANY($2::text[]))
"""

PAYMENTS_BETWEEN = f"""
{_PAYMENT}
WHERE provider = $1 AND paid_at >= $2 AND paid_at < $3
"""

_REFUND = """
SELECT id, order_id, provider_refund_id, amount_minor AS minor, currency,
       COALESCE(succeeded_at, updated_at) AS at
FROM refunds
"""

REFUNDS_BY_REFERENCE = f"""
{_REFUND}
WHERE provider = $1 AND status <> 'failed' AND provider_refund_id = ANY($2::text[])
"""

REFUNDS_BETWEEN = f"""
{_REFUND}
WHERE provider = $1 AND status = 'succeeded' AND succeeded_at >= $2 AND succeeded_at < $3
"""


def _payment(r: asyncpg.Record, provider: str) -> Booked:
    # The reference a report shows first is the one the provider's lines use: Stripe's balance
    # transactions name the PaymentIntent, Alipay's and WeChat Pay's bills our out_trade_no.
    ids = (r["provider_session_id"], r["provider_payment_id"])
    refs = tuple(x for x in (ids[::-1] if provider == "stripe" else ids) if x)
    return Booked(
        "payment", refs, str(r["id"]), None, Money(r["minor"], r["currency"]), r["paid_at"]
    )


def _refund(r: asyncpg.Record) -> Booked:
    return Booked(
        "refund",
        (r["provider_refund_id"] or str(r["id"]),),
        str(r["order_id"]),
        str(r["id"]),
        Money(r["minor"], r["currency"]),
        r["at"],
    )


async def booked_by_reference(
    conn: Connection, provider: str, payments: Sequence[str], refunds: Sequence[str]
) -> dict[tuple[str, str], Booked]:
    found: dict[tuple[str, str], Booked] = {}
    for r in await conn.fetch(PAYMENTS_BY_REFERENCE, provider, list(payments)):
        b = _payment(r, provider)
        found.update({("payment", ref): b for ref in b.references})
    for r in await conn.fetch(REFUNDS_BY_REFERENCE, provider, list(refunds)):
        b = _refund(r)
        found[("refund", b.references[0])] = b
    return found


async def booked_between(
    conn: Connection, provider: str, start: datetime, end: datetime
) -> list[Booked]:
    payments = [
        _payment(r, provider) for r in await conn.fetch(PAYMENTS_BETWEEN, provider, start, end)
    ]
    refunds = [_refund(r) for r in await conn.fetch(REFUNDS_BETWEEN, provider, start, end)]
    return payments + refunds


DELETE_LINES = "DELETE FROM settlement_lines WHERE provider = $1 AND day = $2"

INSERT_LINE = """
INSERT INTO settlement_lines (
    provider, day, seq, kind, reference, outcome, currency, provider_amount_minor,
    booked_amount_minor, fee_minor, order_id, refund_id, provider_id, at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""

UPSERT_RUN = """
INSERT INTO settlement_runs (provider, day, ran_at, lines, differences)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (provider, day) DO UPDATE
    SET ran_at = EXCLUDED.ran_at, lines = EXCLUDED.lines, differences = EXCLUDED.differences
"""


def _currency(x: ReportLine) -> str:
    amount = x.provider_amount or x.booked_amount
    assert amount is not None  # a line is the provider's, paystream's, or both
    return amount.currency


def _minor(m: Money | None) -> int | None:
    return None if m is None else m.minor


async def save_run(
    conn: Connection,
    provider: str,
    day: date,
    lines: Sequence[ReportLine],
    *,
    now: datetime,
    differences: int,
) -> None:
    """Replace the day's lines of this provider (a run again is the newest word)."""
    await conn.execute(DELETE_LINES, provider, day)
    await conn.executemany(
        INSERT_LINE,
        [
            (
                provider,
                day,
                i,
                x.kind,
                x.reference,
                x.outcome.value,
                _currency(x),
                _minor(x.provider_amount),
                _minor(x.booked_amount),
                _minor(x.fee),
                None if x.order_id is None else uuid.UUID(x.order_id),
                None if x.refund_id is None else uuid.UUID(x.refund_id),
                x.provider_id,
                x.at,
            )
            for i, x in enumerate(lines)
        ],
    )
    await conn.execute(UPSERT_RUN, provider, day, now, len(lines), differences)


RAN = "SELECT 1 FROM settlement_runs WHERE provider = $1 AND day = $2"


async def has_run(conn: Connection, provider: str, day: date) -> bool:
    return await conn.fetchval(RAN, provider, day) is not None
