"""`/v1/balance-thresholds`: the low-balance threshold per unit (checkout's auto-recharge sets
it and consumes `paystream.balance.low.v1`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from paystream.ledger.common import error, subject
from paystream.ledger.context import LedgerContext, ledger
from paystream.ledger.thresholds import service
from paystream.shared.auth import CurrentPrincipal
from paystream.shared.events import MAX_CREDITS, UNIT_PATTERN

router = APIRouter(prefix="/v1/balance-thresholds", tags=["thresholds"])

Ctx = Annotated[LedgerContext, Depends(ledger)]


class ThresholdIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"threshold": 100}]}
    )

    threshold: int | None = Field(
        ge=0, le=MAX_CREDITS, description="announce when available goes below; null removes it"
    )


class ThresholdOut(BaseModel):
    user_id: str
    unit: str
    threshold: int | None
    available: int
    below: bool


class ThresholdList(BaseModel):
    user_id: str
    items: list[ThresholdOut]


@router.put(
    "/{unit}",
    response_model=ThresholdOut,
    responses={404: error("another user's threshold"), 422: error("unknown_unit, validation")},
)
async def put_threshold(
    unit: Annotated[str, Path(pattern=UNIT_PATTERN)],
    body: ThresholdIn,
    principal: CurrentPrincipal,
    ctx: Ctx,
    user_id: Annotated[
        str | None, Query(max_length=255, description="admin only: whose threshold")
    ] = None,
) -> ThresholdOut:
    who = subject(principal, user_id)
    await ctx.units.require(unit)
    done = await service.set_threshold(
        ctx.pool,
        user_id=who,
        unit=unit,
        threshold=body.threshold,
        actor=principal.user_id,
        at=ctx.clock.now(),
    )
    ctx.wake_outbox()
    return ThresholdOut(
        user_id=who, unit=unit, threshold=done.threshold, available=done.available, below=done.below
    )


@router.get("", response_model=ThresholdList, responses={404: error("another user's")})
async def list_thresholds(
    principal: CurrentPrincipal,
    ctx: Ctx,
    user_id: Annotated[
        str | None, Query(max_length=255, description="admin only: whose thresholds")
    ] = None,
) -> ThresholdList:
    who = subject(principal, user_id)
    states = await service.thresholds_of(ctx.pool, who, ctx.clock.now())
    return ThresholdList(
        user_id=who,
        items=[
            ThresholdOut(user_id=who, unit=u, threshold=t, available=a, below=b)
            for u, t, a, b in states
        ],
    )
