"""SQL of the revenue statistics: invoices by day of payment and credit notes by day of refund,
per provider and currency (amounts are never added across currencies)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from paystream.shared.db import Connection

REVENUE_BY_DAY = """
WITH paid AS (
    SELECT (paid_at AT TIME ZONE 'UTC')::date AS day, provider, currency,
           count(*) AS invoices, sum(amount_minor) AS revenue_minor
    FROM invoices
    WHERE paid_at >= $1::date AND paid_at < $2::date + 1
    GROUP BY 1, 2, 3
), refunded AS (
    SELECT (refunded_at AT TIME ZONE 'UTC')::date AS day, provider, currency,
           count(*) AS credit_notes, sum(amount_minor) AS refunds_minor
    FROM credit_notes
    WHERE refunded_at >= $1::date AND refunded_at < $2::date + 1
    GROUP BY 1, 2, 3
)
SELECT day, provider, currency,
       coalesce(p.invoices, 0) AS invoices, coalesce(p.revenue_minor, 0) AS revenue_minor,
       coalesce(r.credit_notes, 0) AS credit_notes, coalesce(r.refunds_minor, 0) AS refunds_minor
FROM paid p FULL JOIN refunded r USING (day, provider, currency)
ORDER BY day, provider, currency
"""


@dataclass(frozen=True, slots=True)
class RevenueDay:
    day: date
    provider: str
    currency: str
    invoices: int
    revenue_minor: int
    credit_notes: int
    refunds_minor: int


async def revenue_by_day(conn: Connection, since: date, until: date) -> list[RevenueDay]:
    rows = await conn.fetch(REVENUE_BY_DAY, since, until)
    return [
        RevenueDay(
            day=r["day"],
            provider=r["provider"],
            currency=r["currency"],
            invoices=int(r["invoices"]),
            revenue_minor=int(r["revenue_minor"]),
            credit_notes=int(r["credit_notes"]),
            refunds_minor=int(r["refunds_minor"]),
        )
        for r in rows
    ]
