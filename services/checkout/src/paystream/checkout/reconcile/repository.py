"""The SQL of asking providers: the `provider_checks` claims (sync's rate limit, the reconciler's
backoff) and the reconciler's candidates."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from paystream.shared.db import Connection

CheckKind = Literal["order_sync", "order", "refund"]

# Inserts the claim, or takes it over only when the last one is older than the interval; no
# row back means someone asked less than `interval` ago. The RETURNING of the conflicting row is
# not possible with DO UPDATE ... WHERE, so the refusal reads the row afterwards.
CLAIM_SYNC = """
INSERT INTO provider_checks (subject_kind, subject_id, attempts, checked_at, next_check_at)
VALUES ('order_sync', $1, 1, $2::timestamptz, $2::timestamptz + $3::interval)
ON CONFLICT (subject_kind, subject_id) DO UPDATE
    SET attempts = provider_checks.attempts + 1,
        checked_at = EXCLUDED.checked_at,
        next_check_at = EXCLUDED.next_check_at
    WHERE provider_checks.next_check_at <= EXCLUDED.checked_at
RETURNING subject_id
"""

NEXT_SYNC_AT = """
SELECT next_check_at FROM provider_checks WHERE subject_kind = 'order_sync' AND subject_id = $1
"""


async def claim_sync(
    conn: Connection, order_id: uuid.UUID, *, now: datetime, interval: timedelta
) -> datetime | None:
    """Claim a sync of the order; None when claimed, else when the next one is allowed."""
    if await conn.fetchval(CLAIM_SYNC, order_id, now, interval) is not None:
        return None
    allowed: datetime | None = await conn.fetchval(NEXT_SYNC_AT, order_id)
    return allowed or now


# The next check of a thing asked `attempts` times before: base * 2^attempts, at most `max`.
# The exponent is capped before multiplying: an order pending for weeks has been asked
# thousands of times, and base * 2^1000 overflows PostgreSQL's interval (which stopped every
# round until the cap; found by the e2e suite).
_UPSERT_CLAIMS = """
INSERT INTO provider_checks (subject_kind, subject_id, attempts, checked_at, next_check_at)
SELECT $1, id, 1, $2::timestamptz, $2::timestamptz + $3::interval FROM due
ON CONFLICT (subject_kind, subject_id) DO UPDATE
    SET attempts = provider_checks.attempts + 1,
        checked_at = EXCLUDED.checked_at,
        next_check_at = EXCLUDED.checked_at
            + LEAST($4::interval, $3::interval * power(2, LEAST(provider_checks.attempts, 30)))
RETURNING subject_id
"""

# Pending orders placed before $5 whose payment was opened at a provider that can be asked, due
# for a check; locked (SKIP LOCKED) so replicas claim different ones.
CLAIM_DUE_ORDERS = f"""
WITH due AS (
    SELECT o.id FROM orders o
    LEFT JOIN provider_checks c ON c.subject_kind = 'order' AND c.subject_id = o.id
    WHERE o.status = 'pending'
      AND o.provider_session_id IS NOT NULL
      AND o.provider IS NOT NULL AND o.provider <> 'usdt_trc20'
      AND o.created_at <= $5::timestamptz
      AND (c.next_check_at IS NULL OR c.next_check_at <= $2::timestamptz)
    ORDER BY o.created_at
    LIMIT $6
    FOR UPDATE OF o SKIP LOCKED
)
{_UPSERT_CLAIMS}
"""

CLAIM_DUE_REFUNDS = f"""
WITH due AS (
    SELECT r.id FROM refunds r
    LEFT JOIN provider_checks c ON c.subject_kind = 'refund' AND c.subject_id = r.id
    WHERE r.status = 'pending'
      AND r.provider <> 'usdt_trc20'
      AND r.created_at <= $5::timestamptz
      AND (c.next_check_at IS NULL OR c.next_check_at <= $2::timestamptz)
    ORDER BY r.created_at
    LIMIT $6
    FOR UPDATE OF r SKIP LOCKED
)
{_UPSERT_CLAIMS}
"""


async def claim_due(
    conn: Connection,
    kind: Literal["order", "refund"],
    *,
    now: datetime,
    created_before: datetime,
    backoff: timedelta,
    backoff_max: timedelta,
    limit: int,
) -> list[uuid.UUID]:
    """Claim the pending orders / refunds due for a check and schedule their next one."""
    sql = CLAIM_DUE_ORDERS if kind == "order" else CLAIM_DUE_REFUNDS
    rows = await conn.fetch(sql, kind, now, backoff, backoff_max, created_before, limit)
    return [r["subject_id"] for r in rows]


SET_OUTCOME = """
UPDATE provider_checks SET last_outcome = $3 WHERE subject_kind = $1 AND subject_id = $2
"""


async def set_outcome(
    conn: Connection, kind: CheckKind, subject_id: uuid.UUID, outcome: str
) -> None:
    await conn.execute(SET_OUTCOME, kind, subject_id, outcome)


# What the reconciler is working on: pending orders and refunds it has asked about (or will),
# for `GET /v1/admin/reconcile` (`paystream reconcile status`). Orders that cannot be asked
# (no provider session, USDT: watched on chain) are not its work.
UNDER_CHECK = """
SELECT 'order' AS kind, o.id, o.provider, o.created_at, c.attempts, c.checked_at,
       c.next_check_at, c.last_outcome
FROM orders o
LEFT JOIN provider_checks c ON c.subject_kind = 'order' AND c.subject_id = o.id
WHERE o.status = 'pending' AND o.provider_session_id IS NOT NULL
  AND o.provider IS NOT NULL AND o.provider <> 'usdt_trc20'
UNION ALL
SELECT 'refund', r.id, r.provider, r.created_at, c.attempts, c.checked_at, c.next_check_at,
       c.last_outcome
FROM refunds r
LEFT JOIN provider_checks c ON c.subject_kind = 'refund' AND c.subject_id = r.id
WHERE r.status = 'pending' AND r.provider <> 'usdt_trc20'
ORDER BY created_at
LIMIT $1
"""

COUNT_UNDER_CHECK = """
SELECT
    (SELECT count(*) FROM orders WHERE status = 'pending' AND provider_session_id IS NOT NULL
        AND provider IS NOT NULL AND provider <> 'usdt_trc20') AS orders,
    (SELECT count(*) FROM refunds WHERE status = 'pending' AND provider <> 'usdt_trc20')
        AS refunds
"""


async def under_check(conn: Connection, *, limit: int) -> tuple[int, int, list[asyncpg.Record]]:
    """(pending orders, pending refunds, the oldest `limit` of them with their checks)."""
    counts = await conn.fetchrow(COUNT_UNDER_CHECK)
    assert counts is not None
    return counts["orders"], counts["refunds"], await conn.fetch(UNDER_CHECK, limit)
