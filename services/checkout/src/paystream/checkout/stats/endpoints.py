"""`GET /v1/admin/stats/payments` (admin): what the operators' dashboard shows of checkout.

All counts are over orders created in the period (inclusive UTC days, the last 30 by default);
the orders needing review are listed whatever their date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request

from paystream.checkout.stats import repository as repo
from paystream.checkout.stats.schemas import (
    DayStats,
    FailureReason,
    MethodStats,
    MismatchedOrder,
    NeedsReview,
    OpenReviews,
    PackageStats,
    PaidAmount,
    PaymentStats,
    PlanStats,
    UsdtReview,
)
from paystream.shared.auth import AdminPrincipal
from paystream.shared.errors import Unprocessable
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyOut

router = APIRouter(prefix="/v1/admin/stats", tags=["admin statistics"])

MAX_DAYS = 366
REVIEW_LIMIT = 50


class InvalidPeriod(Unprocessable):
    code = "invalid_period"


def period(since: date | None, until: date | None, default_days: int = 30) -> tuple[date, date]:
    until = until or datetime.now(UTC).date()
    since = since or until - timedelta(days=default_days - 1)
    if since > until:
        raise InvalidPeriod("since is after until")
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidPeriod(f"a period of at most {MAX_DAYS} days")
    return since, until


def success_rate(paid: int, created: int, pending: int) -> float | None:
    """Of the orders that ended, the share paid; pending ones (and those whose payment waits for
    review) have not had their chance yet."""
    ended = created - pending
    return round(paid / ended, 4) if ended > 0 else None


def _seconds(v: Any) -> float | None:
    return None if v is None else round(float(v), 3)


def _money(minor: int, currency: str) -> MoneyOut:
    return MoneyOut.of(Money(int(minor), currency))


@router.get(
    "/payments",
    response_model=PaymentStats,
    summary="Payment success, time to paid, amounts, packages, failures, review (admin)",
    responses={
        401: {"description": "`unauthorized`: no or bad bearer token"},
        403: {"description": "`forbidden`: not an admin"},
        422: {"description": "`validation_error` (a bad date) or `invalid_period`"},
    },
)
async def payment_stats(
    request: Request,
    _: AdminPrincipal,
    since: Annotated[date | None, Query(description="first UTC day (default: 29 days ago)")] = None,
    until: Annotated[date | None, Query(description="last UTC day (default: today)")] = None,
) -> PaymentStats:
    first, last = period(since, until)
    pool: asyncpg.Pool = request.app.state.checkout.pool
    async with pool.acquire() as conn:
        methods = await repo.by_method(conn, first, last)
        days = await repo.by_day(conn, first, last)
        amounts = await repo.amounts(conn, first, last)
        packages = await repo.packages(conn, first, last)
        plans = await repo.plans(conn, first, last)
        failures = await repo.failures(conn, first, last)
        mismatched = await repo.mismatched(conn, REVIEW_LIMIT)
        usdt = await repo.usdt_review(conn)
        reviews = await repo.open_reviews(conn)
    return PaymentStats(
        since=first,
        until=last,
        by_method=[
            MethodStats(
                payment_method=m["payment_method"],
                created=m["created"],
                paid=m["paid"],
                failed=m["failed"],
                cancelled=m["cancelled"],
                expired=m["expired"],
                pending=m["pending"],
                needs_review=m["needs_review"],
                success_rate=success_rate(
                    m["paid"], m["created"], m["pending"] + m["needs_review"]
                ),
                median_seconds_to_paid=_seconds(m["median_s"]),
                p95_seconds_to_paid=_seconds(m["p95_s"]),
            )
            for m in methods
        ],
        by_day=[
            DayStats(
                day=d["day"],
                payment_method=d["payment_method"],
                created=d["created"],
                paid=d["paid"],
                # Per day, orders still pending are few and recent: counted as not (yet) paid.
                success_rate=round(d["paid"] / d["created"], 4),
                median_seconds_to_paid=_seconds(d["median_s"]),
                p95_seconds_to_paid=_seconds(d["p95_s"]),
            )
            for d in days
        ],
        paid_amounts=[
            PaidAmount(
                payment_method=a["payment_method"],
                currency=a["currency"],
                paid_orders=a["paid"],
                paid=_money(a["paid_minor"], a["currency"]),
                refunded=_money(a["refunded_minor"], a["currency"]),
            )
            for a in amounts
        ],
        packages=[PackageStats(**p) for p in packages],
        plans=[PlanStats(**p) for p in plans],
        failure_reasons=[FailureReason(**f) for f in failures],
        needs_review=NeedsReview(
            open_reviews=[OpenReviews(**r) for r in reviews],
            amount_mismatch=[
                MismatchedOrder(
                    order_id=str(o["id"]),
                    user_id=o["user_id"],
                    payment_method=o["payment_method"],
                    status=o["status"],
                    amount=_money(o["amount_minor"], o["currency"]),
                    paid=None
                    if o["paid_amount_minor"] is None
                    else _money(o["paid_amount_minor"], o["paid_currency"]),
                    paid_at=o["paid_at"],
                )
                for o in mismatched
            ],
            usdt_transfers=[
                UsdtReview(
                    status=u["status"],
                    transfers=u["transfers"],
                    amount=_money(u["amount_minor"], "USDT"),
                    last_seen_at=u["last_seen_at"],
                )
                for u in usdt
            ],
        ),
    )
