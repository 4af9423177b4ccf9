"""Bodies of `POST /v1/spend`."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paystream.ledger.common import CreditsField, LotAmountOut, UnitField, lot_amounts
from paystream.ledger.spending.batcher import SpendRecord


class SpendIn(BaseModel):
    # Strict: "30", 30.0 and true are not credits; extra fields are a client bug worth seeing.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"credits": 25, "reason": "export:report-2026-11", "unit": "credits"}]
        },
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "transaction_id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
                    "user_id": "user-42",
                    "unit": "credits",
                    "credits": 25,
                    "balance_after": 1075,
                    "reason": "export:report-2026-11",
                    "created_at": "2026-11-01T09:15:00Z",
                    "lots": [{"lot_id": "3f2e1d0c-9b8a-4776-8554-433221100fed", "credits": 25}],
                }
            ]
        }
    )

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
