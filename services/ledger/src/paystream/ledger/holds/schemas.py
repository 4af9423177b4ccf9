"""Bodies of the holds API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from paystream.ledger.common import CreditsField, LotAmountOut, UnitField, lot_amounts
from paystream.ledger.holds.repository import HoldRow
from paystream.shared.events import MAX_CREDITS

# A hold reserves credits for work that takes a while (an AI job, a call): at most a week.
MAX_TTL_S = 7 * 24 * 3600

HoldStatus = Literal["open", "captured", "released", "expired"]


class HoldIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"credits": 50, "ttl_seconds": 600, "unit": "credits", "reason": "render job 77"}
            ]
        },
    )

    credits: int = CreditsField
    ttl_seconds: int = Field(ge=1, le=MAX_TTL_S, description="how long the hold lasts")
    unit: str = UnitField
    reason: str = Field(default="hold", min_length=1, max_length=200)


class CaptureIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"credits": 42}]}
    )

    credits: int = Field(gt=0, le=MAX_CREDITS, description="what to spend: at most what is held")


class HoldOut(BaseModel):
    hold_id: uuid.UUID
    user_id: str
    unit: str
    credits: int = Field(description="credits held when the hold was placed")
    captured: int
    released: int
    status: HoldStatus = Field(
        description="open; captured; released; expired (its time ran out before a capture)"
    )
    reason: str
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    lots: list[LotAmountOut] = Field(description="the lots it holds credits of")

    @classmethod
    def of(cls, h: HoldRow, now: datetime) -> HoldOut:
        status: HoldStatus = (
            "expired"
            if h.status == "expired" or (h.status == "open" and now >= h.expires_at)
            else "captured"
            if h.status == "captured"
            else "released"
            if h.status == "released"
            else "open"
        )
        return cls(
            hold_id=h.id,
            user_id=h.user_id,
            unit=h.unit,
            credits=h.credits,
            captured=h.captured,
            released=h.released,
            status=status,
            reason=h.reason,
            expires_at=h.expires_at,
            created_at=h.created_at,
            settled_at=h.settled_at,
            lots=lot_amounts(h.allocations),
        )


class HoldPage(BaseModel):
    items: list[HoldOut]
    next_cursor: str | None
