"""SQL of checkout's statistics, over orders created in a period of UTC days."""

from __future__ import annotations

from datetime import date
from typing import Any

from paystream.shared.db import Connection

# Paid is any order whose money was taken, refunded since or not. paid_at is the provider's
# clock (some report whole seconds): a payment can seem to precede its order by a fraction of a
# second, which counts as 0.
_TO_PAID = "greatest(0, extract(epoch FROM paid_at - created_at))"
_PAID = "status IN ('paid', 'partially_refunded', 'refunded')"
_PERIOD = "created_at >= $1::date AND created_at < $2::date + 1"

BY_METHOD = f"""
SELECT payment_method,
       count(*) AS created,
       count(*) FILTER (WHERE {_PAID}) AS paid,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE status = 'expired') AS expired,
       count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'needs_review') AS needs_review,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_TO_PAID})
           FILTER (WHERE paid_at IS NOT NULL) AS median_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {_TO_PAID})
           FILTER (WHERE paid_at IS NOT NULL) AS p95_s
FROM orders WHERE {_PERIOD}
GROUP BY payment_method ORDER BY payment_method
"""

BY_DAY = f"""
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, payment_method,
       count(*) AS created,
       count(*) FILTER (WHERE {_PAID}) AS paid,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {_TO_PAID})
           FILTER (WHERE paid_at IS NOT NULL) AS median_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {_TO_PAID})
           FILTER (WHERE paid_at IS NOT NULL) AS p95_s
FROM orders WHERE {_PERIOD}
GROUP BY 1, 2 ORDER BY 1, 2
"""

# What the provider reported as taken when known, else the price ordered.
AMOUNTS = f"""
SELECT payment_method, coalesce(paid_currency, currency) AS currency,
       count(*) AS paid,
       sum(coalesce(paid_amount_minor, amount_minor)) AS paid_minor,
       sum(refunded_minor) AS refunded_minor
FROM orders WHERE {_PERIOD} AND {_PAID}
GROUP BY 1, 2 ORDER BY 1, 2
"""

PACKAGES = f"""
SELECT package_id,
       count(*) AS created,
       count(*) FILTER (WHERE {_PAID}) AS paid,
       coalesce(sum(credits) FILTER (WHERE {_PAID}), 0) AS credits
FROM orders WHERE {_PERIOD}
GROUP BY package_id ORDER BY paid DESC, created DESC, package_id
"""

# Subscriptions are counted as they are now (a plan is held, not bought on a day); the orders
# that bought periods of a plan as they were created in the period. Basic needs no order.
PLANS = """
WITH held AS (
    SELECT plan_id,
           count(*) FILTER (WHERE status = 'active') AS active,
           count(*) FILTER (WHERE status = 'past_due') AS past_due
    FROM subscriptions GROUP BY plan_id
), bought AS (
    SELECT so.plan_id,
           count(*) AS orders,
           count(*) FILTER (WHERE o.status IN ('paid', 'partially_refunded', 'refunded')) AS paid
    FROM subscription_orders so JOIN orders o ON o.id = so.order_id
    WHERE o.created_at >= $1::date AND o.created_at < $2::date + 1 AND so.kind <> 'allowance'
    GROUP BY so.plan_id
)
SELECT plan_id, coalesce(active, 0) AS active, coalesce(past_due, 0) AS past_due,
       coalesce(orders, 0) AS orders, coalesce(paid, 0) AS paid
FROM held FULL JOIN bought USING (plan_id)
ORDER BY active DESC, paid DESC, plan_id
"""

FAILURES = f"""
SELECT CASE status
           WHEN 'failed' THEN coalesce(failure_reason, 'failed (no reason given)')
           WHEN 'cancelled' THEN 'cancelled before payment'
           ELSE 'expired unpaid'
       END AS reason,
       status,
       count(*) AS orders
FROM orders WHERE {_PERIOD} AND status IN ('failed', 'cancelled', 'expired')
GROUP BY 1, 2 ORDER BY orders DESC, reason
"""

# Money taken that does not match the order: held for review (or, before reviews existed,
# kept paid and flagged).
MISMATCHED = """
SELECT id, user_id, payment_method, status, amount_minor, currency, paid_amount_minor,
       paid_currency, paid_at, created_at
FROM orders WHERE amount_mismatch
ORDER BY paid_at DESC NULLS LAST, id DESC LIMIT $1
"""

# Payments waiting for an operator's decision (GET /v1/admin/reviews), by reason.
OPEN_REVIEWS = """
SELECT reason, blocking, count(*) AS reviews, min(created_at) AS oldest_at
FROM payment_reviews, unnest(reasons) AS reason
WHERE status = 'open'
GROUP BY 1, 2 ORDER BY reviews DESC, reason
"""

USDT_REVIEW = """
SELECT status, count(*) AS transfers, coalesce(sum(amount_minor), 0) AS amount_minor,
       max(seen_at) AS last_seen_at
FROM usdt_transfers WHERE status <> 'matched'
GROUP BY status ORDER BY status
"""


async def fetch(conn: Connection, query: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(query, *args)]


async def by_method(conn: Connection, since: date, until: date) -> list[dict[str, Any]]:
    return await fetch(conn, BY_METHOD, since, until)


async def by_day(conn: Connection, since: date, until: date) -> list[dict[str, Any]]:
    return await fetch(conn, BY_DAY, since, until)


async def amounts(conn: Connection, since: date, until: date) -> list[dict[str, Any]]:
    return await fetch(conn, AMOUNTS, since, until)


async def packages(conn: Connection, since: date, until: date) -> list[dict[str, Any]]:
    return await fetch(conn, PACKAGES, since, until)


async def plans(conn: Connection, since: date, until: date) -> list[dict[str, Any]]:
    return await fetch(conn, PLANS, since, until)


async def failures(conn: Connection, since: date, until: date) -> list[dict[str, Any]]:
    return await fetch(conn, FAILURES, since, until)


async def mismatched(conn: Connection, limit: int) -> list[dict[str, Any]]:
    return await fetch(conn, MISMATCHED, limit)


async def open_reviews(conn: Connection) -> list[dict[str, Any]]:
    return await fetch(conn, OPEN_REVIEWS)


async def usdt_review(conn: Connection) -> list[dict[str, Any]]:
    return await fetch(conn, USDT_REVIEW)
