"""Bodies of the balance, lots and operator-grant APIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paystream.ledger.common import CreditsField, UnitField
from paystream.ledger.lots.domain import UnitBalance
from paystream.ledger.lots.repository import LotRow
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyOut

LotStatus = Literal["active", "scheduled", "expired", "voided", "consumed"]


class NextExpiry(BaseModel):
    credits: int = Field(description="credits available that expire at that moment")
    expires_at: datetime


class UnitBalanceOut(BaseModel):
    unit: str
    available: int = Field(description="credits that can be spent or held now")
    held: int = Field(description="credits reserved by open holds")
    next_expiry: NextExpiry | None = Field(description="the soonest expiry of available credits")

    @classmethod
    def of(cls, b: UnitBalance) -> UnitBalanceOut:
        return cls(
            unit=b.unit,
            available=b.available,
            held=b.held,
            next_expiry=NextExpiry(credits=b.next_expiry_credits, expires_at=b.next_expiry_at)
            if b.next_expiry_at is not None
            else None,
        )


class BalanceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "user-42",
                    "at": "2026-11-01T09:15:00Z",
                    "credits": 1075,
                    "balances": [
                        {
                            "unit": "credits",
                            "available": 1075,
                            "held": 25,
                            "next_expiry": {"credits": 75, "expires_at": "2026-12-01T00:00:00Z"},
                        }
                    ],
                }
            ]
        }
    )

    user_id: str
    at: datetime = Field(description="the moment this balance is of")
    credits: int = Field(description="available credits of the default unit `credits`")
    balances: list[UnitBalanceOut] = Field(description="per unit")


class LotOut(BaseModel):
    id: uuid.UUID
    unit: str
    source: str
    status: LotStatus
    credits: int = Field(description="granted")
    remaining: int = Field(description="not consumed, expired, voided or revoked (held included)")
    held: int
    consumed: int
    expired: int
    voided: int
    revoked: int
    effective_at: datetime
    expires_at: datetime | None
    validity_rule: str = Field(description='an ISO 8601 duration ("P6M"), "fixed" or "none"')
    priority: int
    cost: MoneyOut | None = Field(description="what the lot cost; none for free credits")
    order_id: str | None
    transaction_id: uuid.UUID
    created_at: datetime
    voided_at: datetime | None

    @classmethod
    def of(cls, r: LotRow) -> LotOut:
        cost = None
        if r.cost_minor and r.cost_currency:
            try:
                cost = MoneyOut.of(Money(r.cost_minor, r.cost_currency))
            except ValueError:
                cost = MoneyOut(value=str(r.cost_minor), currency=r.cost_currency)
        status: LotStatus = r.status  # type: ignore[assignment]  # computed by the query
        return cls(
            id=r.id,
            unit=r.unit,
            source=r.source,
            status=status,
            credits=r.credits,
            remaining=r.remaining,
            held=r.held,
            consumed=r.consumed,
            expired=r.expired,
            voided=r.voided,
            revoked=r.revoked,
            effective_at=r.effective_at,
            expires_at=r.expires_at,
            validity_rule=r.validity_rule,
            priority=r.priority,
            cost=cost,
            order_id=r.order_id,
            transaction_id=r.transaction_id,
            created_at=r.created_at,
            voided_at=r.voided_at,
        )


class LotPage(BaseModel):
    items: list[LotOut]
    next_cursor: str | None


class GrantIn(BaseModel):
    """An operator's grant: free credits (a promotion, or an adjustment), optionally expiring."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "user_id": "user-42",
                    "credits": 100,
                    "unit": "credits",
                    "source": "promotion",
                    "validity": "P30D",
                    "reason": "welcome bonus",
                }
            ]
        },
    )

    user_id: str = Field(min_length=1, max_length=200)
    credits: int = CreditsField
    unit: str = UnitField
    source: Literal["promotion", "adjustment"] = "adjustment"
    validity: str | None = Field(
        default=None,
        max_length=40,
        pattern=r"^P[0-9YMWDTHS.]+$",
        description="ISO 8601 duration from now (P30D); or give expires_at; neither: no expiry",
    )
    expires_at: datetime | None = Field(default=None, strict=False)
    priority: int = Field(default=50, ge=0, le=100, description="lower is consumed first")
    reason: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_expiry(self) -> GrantIn:
        if self.validity is not None and self.expires_at is not None:
            raise ValueError("give validity or expires_at, not both")
        return self


class VoidIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"reason": "granted to the wrong user"}]},
    )

    reason: str = Field(min_length=1, max_length=200)
