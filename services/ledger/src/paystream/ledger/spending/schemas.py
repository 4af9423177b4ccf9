"""Bodies of `POST /v1/spend`."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paystream.ledger.common import CreditsField, LotAmountOut, UnitField, lot_amounts
from paystream.ledger.spending.batcher import SpendRecord


class SpendIn(BaseModel):
    # Strict: "30", 30.0 and true are not credits; extra fields are a client bug worth seeing.
    model_config = ConfigDict(extra="forbid", strict=True)

    credits: int = CreditsField
    reason: str = Field(min_length=1, max_length=200, description="what the credits pay for")
    unit: str = UnitField

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("reason must not be blank")
        return v


class SpendOut(BaseModel):
    transaction_id: uuid.UUID
    user_id: str
    unit: str
    credits: int
    balance_after: int = Field(description="credits available in the unit after the spend")
    reason: str
    created_at: datetime
    lots: list[LotAmountOut] = Field(description="the lots it consumed, in consumption order")

    @classmethod
    def of(cls, s: SpendRecord) -> SpendOut:
        return cls(
            transaction_id=s.id,
            user_id=s.user_id,
            unit=s.unit,
            credits=s.credits,
            balance_after=s.balance_after,
            reason=s.reason,
            created_at=s.created_at,
            lots=lot_amounts(s.lots),
        )
