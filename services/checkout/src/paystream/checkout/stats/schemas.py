"""Response bodies of checkout's statistics."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from paystream.shared.schemas import MoneyOut


class MethodStats(BaseModel):
    payment_method: str
    created: int
    paid: int = Field(description="money taken (refunded since or not)")
    failed: int
    cancelled: int
    expired: int
    pending: int
    needs_review: int = Field(description="a payment arrived that waits for an operator")
    success_rate: float | None = Field(
        description="paid / (created - still pending or in review); null when nothing has ended yet"
    )
    median_seconds_to_paid: float | None
    p95_seconds_to_paid: float | None


class DayStats(BaseModel):
    day: date
    payment_method: str
    created: int
    paid: int
    success_rate: float | None
    median_seconds_to_paid: float | None
    p95_seconds_to_paid: float | None


class PaidAmount(BaseModel):
    payment_method: str
    currency: str
    paid_orders: int
    paid: MoneyOut
    refunded: MoneyOut


class PackageStats(BaseModel):
    package_id: str
    created: int
    paid: int
    credits: int = Field(description="credits sold by paid orders")


class PlanStats(BaseModel):
    plan_id: str
    active: int = Field(description="subscriptions on this plan now, status active")
    past_due: int = Field(description="subscriptions on this plan now whose renewal failed")
    orders: int = Field(
        description="orders for this plan (subscribe, renew, upgrade) created in the period"
    )
    paid: int = Field(description="of those, paid (refunded since or not)")


class FailureReason(BaseModel):
    reason: str
    status: str = Field(description="failed, cancelled or expired")
    orders: int


class MismatchedOrder(BaseModel):
    order_id: str
    user_id: str
    payment_method: str
    status: str
    amount: MoneyOut
    paid: MoneyOut | None
    paid_at: datetime | None


class UsdtReview(BaseModel):
    status: str = Field(description="underpaid, overpaid, late, duplicate or unmatched")
    transfers: int
    amount: MoneyOut
    last_seen_at: datetime | None


class OpenReviews(BaseModel):
    reason: str = Field(description="see GET /v1/admin/reviews")
    blocking: bool = Field(description="true: the order waits, nothing granted")
    reviews: int
    oldest_at: datetime


class NeedsReview(BaseModel):
    open_reviews: list[OpenReviews]
    amount_mismatch: list[MismatchedOrder]
    usdt_transfers: list[UsdtReview]


class PaymentStats(BaseModel):
    since: date
    until: date
    by_method: list[MethodStats]
    by_day: list[DayStats]
    paid_amounts: list[PaidAmount]
    packages: list[PackageStats]
    plans: list[PlanStats] = Field(
        description="subscriptions per plan now, and the plans' orders in the period; the most "
        "subscribed first"
    )
    failure_reasons: list[FailureReason]
    needs_review: NeedsReview
