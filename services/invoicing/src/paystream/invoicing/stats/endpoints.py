"""Admin statistics of invoicing: revenue and refunds per provider, currency and UTC day.

Invoicing knows who took the money (`provider`: stripe, alipay, wechatpay, usdt_trc20), not
which checkout method was used; checkout's `/v1/admin/stats/payments` splits by method.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query, Request

from paystream.invoicing.stats import repository as repo
from paystream.invoicing.stats.schemas import RevenueRow, RevenueStats, RevenueTotal
from paystream.shared.auth import AdminPrincipal
from paystream.shared.errors import Unprocessable
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyOut

router = APIRouter(prefix="/v1/admin/stats", tags=["admin statistics"])

MAX_DAYS = 366


class InvalidPeriod(Unprocessable):
    code = "invalid_period"


def period(since: date | None, until: date | None, default_days: int = 30) -> tuple[date, date]:
    """The inclusive UTC-day period asked for: the last `default_days` days by default."""
    until = until or datetime.now(UTC).date()
    since = since or until - timedelta(days=default_days - 1)
    if since > until:
        raise InvalidPeriod("since is after until")
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidPeriod(f"a period of at most {MAX_DAYS} days")
    return since, until


def _money(minor: int, currency: str) -> MoneyOut:
    return MoneyOut.of(Money(minor, currency))


@router.get(
    "/revenue",
    response_model=RevenueStats,
    summary="Revenue and refunds per provider, currency and UTC day (admin)",
    responses={
        401: {"description": "`unauthorized`: no or bad bearer token"},
        403: {"description": "`forbidden`: not an admin"},
        422: {"description": "`validation_error` (a bad date) or `invalid_period`"},
    },
)
async def revenue_stats(
    request: Request,
    _: AdminPrincipal,
    since: Annotated[date | None, Query(description="first UTC day (default: 29 days ago)")] = None,
    until: Annotated[date | None, Query(description="last UTC day (default: today)")] = None,
) -> RevenueStats:
    first, last = period(since, until)
    pool: asyncpg.Pool = request.app.state.runtime.pool
    async with pool.acquire() as conn:
        rows = await repo.revenue_by_day(conn, first, last)
    totals: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        t = totals.setdefault((r.provider, r.currency), [0, 0, 0, 0])
        t[0] += r.invoices
        t[1] += r.revenue_minor
        t[2] += r.credit_notes
        t[3] += r.refunds_minor
    return RevenueStats(
        since=first,
        until=last,
        days=[
            RevenueRow(
                day=r.day,
                provider=r.provider,
                currency=r.currency,
                invoices=r.invoices,
                revenue=_money(r.revenue_minor, r.currency),
                credit_notes=r.credit_notes,
                refunds=_money(r.refunds_minor, r.currency),
                net=_money(r.revenue_minor - r.refunds_minor, r.currency),
            )
            for r in rows
        ],
        totals=[
            RevenueTotal(
                provider=provider,
                currency=currency,
                invoices=n_inv,
                revenue=_money(rev, currency),
                credit_notes=n_cn,
                refunds=_money(ref, currency),
                net=_money(rev - ref, currency),
            )
            for (provider, currency), (n_inv, rev, n_cn, ref) in sorted(totals.items())
        ],
    )
