"""HTTP bodies of the payment reviews API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from paystream.checkout.reviews.domain import Decision, Review, ReviewStatus, allowed


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "paid after the order expired; confirmed with the customer"}]
        },
    )

    reason: str = Field(
        min_length=1, max_length=500, description="Why: kept with the decision, for the audit."
    )


class ReviewOut(BaseModel):
    review_id: str
    order_id: str | None = Field(description="null: the payment names no order of ours")
    user_id: str | None
    provider: str
    provider_payment_id: str | None
    provider_event_id: str
    amount_minor: int = Field(description="what the provider says was paid, in minor units")
    currency: str
    reasons: list[str] = Field(
        description="unknown_order, amount_mismatch, currency_mismatch, user_mismatch, "
        "credits_mismatch, package_mismatch, duplicate_payment, overpaid"
    )
    details: dict[str, Any] = Field(description="what the order says against what was paid")
    blocking: bool = Field(description="true: the order waits in needs_review, nothing granted")
    status: ReviewStatus
    allowed_decisions: list[Decision]
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    refund_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, r: Review) -> ReviewOut:
        return cls(
            review_id=str(r.id),
            order_id=None if r.order_id is None else str(r.order_id),
            user_id=r.user_id,
            provider=r.provider,
            provider_payment_id=r.provider_payment_id,
            provider_event_id=r.provider_event_id,
            amount_minor=r.amount_minor,
            currency=r.currency,
            reasons=list(r.reasons),
            details=r.details,
            blocking=r.blocking,
            status=r.status,
            allowed_decisions=sorted(allowed(r)),
            decided_by=r.decided_by,
            decided_at=r.decided_at,
            decision_reason=r.decision_reason,
            refund_id=None if r.refund_id is None else str(r.refund_id),
            created_at=r.created_at,
        )


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next_cursor: str | None
