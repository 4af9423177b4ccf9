"""HTTP bodies of the refunds API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paystream.checkout.refunds.domain import Refund, RefundState, UnmatchedRefund
from paystream.shared.schemas import MoneyIn, MoneyOut


class CreateRefundIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_id": "0b6a1f9e-3c1d-4f7a-9d47-2f1c8b7a6e51",
                    "amount": {"value": "30.00", "currency": "CNY"},
                    "reason": "requested_by_customer",
                }
            ]
        },
    )

    order_id: str = Field(min_length=1, max_length=64)
    amount: MoneyIn | None = Field(
        default=None, description="Part of the payment to return; all that is left by default."
    )
    reason: str = Field(min_length=1, max_length=500, examples=["requested_by_customer"])
    provider_payment_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The payment to return, when the order was paid twice (a second payment:"
        " see the order's reviews); the order's own payment by default. Each payment is"
        " refunded against its own amount.",
    )

    @field_validator("amount")
    @classmethod
    def _positive(cls, amount: MoneyIn | None) -> MoneyIn | None:
        # A refund of nothing is a mistake of the caller (it was a 500 from the provider call).
        if amount is not None and amount.to_money().minor <= 0:
            raise ValueError("a refund amount must be greater than zero")
        return amount


class ConfirmPayoutIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reference": "TRON tx 4f2a9c0d...e81b"}]}
    )

    reference: str = Field(
        min_length=1, max_length=200, description="The payout's reference, e.g. the TRON txid."
    )


class RefundOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "refund_id": "5d0c7e2a-8b1f-4e6d-a3c9-1f7b2e4d6a80",
                    "order_id": "0b6a1f9e-3c1d-4f7a-9d47-2f1c8b7a6e51",
                    "user_id": "user-42",
                    "amount": {"value": "30.00", "currency": "CNY"},
                    "reason": "requested_by_customer",
                    "status": "succeeded",
                    "provider": "alipay",
                    "provider_refund_id": "5d0c7e2a-8b1f-4e6d-a3c9-1f7b2e4d6a80",
                    "failure_reason": None,
                    "payout_reference": None,
                    "created_at": "2026-11-02T09:00:00Z",
                    "succeeded_at": "2026-11-02T09:00:02Z",
                }
            ]
        }
    )

    refund_id: str
    order_id: str
    user_id: str
    amount: MoneyOut
    reason: str
    status: RefundState
    provider: str
    provider_refund_id: str | None
    failure_reason: str | None
    payout_reference: str | None
    created_at: datetime
    succeeded_at: datetime | None
    provider_payment_id: str | None = Field(
        default=None,
        description="The second payment of the order it returns; null: the order's own payment.",
    )

    @classmethod
    def of(cls, r: Refund) -> RefundOut:
        return cls(
            refund_id=r.id,
            order_id=r.order_id,
            user_id=r.user_id,
            amount=MoneyOut.of(r.amount),
            reason=r.reason,
            status=r.status,
            provider=r.provider,
            provider_refund_id=r.provider_refund_id,
            failure_reason=r.failure_reason,
            payout_reference=r.payout_reference,
            created_at=r.created_at,
            succeeded_at=r.succeeded_at,
            provider_payment_id=r.provider_payment_id,
        )


class RefundPage(BaseModel):
    items: list[RefundOut]
    next_cursor: str | None


class UnmatchedRefundOut(BaseModel):
    """Money a provider reported going back that checkout could not apply, and why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9a3e51c2-0f4b-4d8e-b6a1-7c2d9e0f1a3b",
                    "provider": "stripe",
                    "provider_refund_id": "re_3QxYz2ABCdef",
                    "provider_payment_id": "pi_3QxYz2ABCdef",
                    "order_id": None,
                    "user_id": None,
                    "amount": {"value": "12.34", "currency": "USD"},
                    "refunded_total": None,
                    "reason": "no order holds the payment pi_3QxYz2ABCdef",
                    "refunded_at": "2026-12-04T09:00:00Z",
                    "created_at": "2026-12-04T09:00:01Z",
                    "resolved_at": None,
                }
            ]
        }
    )

    id: str
    provider: str
    provider_refund_id: str
    provider_payment_id: str | None
    order_id: str | None = Field(description="The order the report named, if it named one.")
    user_id: str | None
    amount: MoneyOut | None = Field(description="The refund's own amount, when reported.")
    refunded_total: MoneyOut | None = Field(
        description="The payment's cumulative refunded total, when that is all that was reported."
    )
    reason: str = Field(description="Why checkout could not apply it.")
    refunded_at: datetime
    created_at: datetime
    resolved_at: datetime | None = Field(description="When it was applied after all.")

    @classmethod
    def of(cls, u: UnmatchedRefund) -> UnmatchedRefundOut:
        return cls(
            id=u.id,
            provider=u.provider,
            provider_refund_id=u.provider_refund_id,
            provider_payment_id=u.provider_payment_id,
            order_id=u.order_ref,
            user_id=u.user_id,
            amount=None if u.amount is None else MoneyOut.of(u.amount),
            refunded_total=None if u.refunded_total is None else MoneyOut.of(u.refunded_total),
            reason=u.reason,
            refunded_at=u.refunded_at,
            created_at=u.created_at,
            resolved_at=u.resolved_at,
        )


class UnmatchedRefundPage(BaseModel):
    items: list[UnmatchedRefundOut]
    next_cursor: str | None
