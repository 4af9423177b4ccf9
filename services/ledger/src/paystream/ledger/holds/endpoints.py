"""`/v1/holds`: reserve credits, capture or release them, read holds."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from paystream.ledger.common import IdempotencyKey, error, require_key, subject
from paystream.ledger.context import LedgerContext, ledger
from paystream.ledger.cursor import decode_cursor, encode_cursor
from paystream.ledger.holds import service
from paystream.ledger.holds.schemas import CaptureIn, HoldIn, HoldOut, HoldPage, HoldStatus
from paystream.shared.auth import CurrentPrincipal
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1/holds", tags=["holds"])

Ctx = Annotated[LedgerContext, Depends(ledger)]


@router.post(
    "",
    status_code=201,
    response_model=HoldOut,
    summary="Reserve credits (Idempotency-Key required)",
    responses={
        400: error("idempotency_key_required, or bad_request: key longer than 255"),
        409: error("insufficient_credits"),
        422: error("idempotency_key_reused, unknown_unit, validation_error (credits, ttl)"),
    },
)
async def place_hold(
    body: HoldIn,
    principal: CurrentPrincipal,
    ctx: Ctx,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    key = require_key(idempotency_key)
    unit = await ctx.units.require(body.unit)
    result = await service.place_hold(
        ctx.pool,
        ctx.clock,
        user_id=principal.user_id,
        unit=unit,
        credits=body.credits,
        ttl=timedelta(seconds=body.ttl_seconds),
        reason=body.reason,
        idempotency_key=key,
    )
    if not result.replayed:
        ctx.wake_outbox()
    return Response(
        HoldOut.of(result.hold, ctx.clock.now()).model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if result.replayed else None,
    )


@router.post(
    "/{hold_id}/capture",
    response_model=HoldOut,
    summary="Spend held credits (at most what is held) and release the rest",
    responses={
        404: error("hold_not_found"),
        409: error("hold_expired (its time ran out), hold_not_open (captured or released)"),
        422: error("capture_exceeds_hold, validation_error"),
    },
)
async def capture(
    hold_id: uuid.UUID, body: CaptureIn, principal: CurrentPrincipal, ctx: Ctx
) -> HoldOut:
    result = await service.capture(
        ctx.pool, ctx.clock, hold_id=hold_id, credits=body.credits, principal=principal
    )
    if not result.replayed:
        ctx.wake_outbox()
    return HoldOut.of(result.hold, ctx.clock.now())


@router.post(
    "/{hold_id}/release",
    response_model=HoldOut,
    summary="Release all held credits",
    responses={404: error("hold_not_found"), 409: error("hold_not_open (captured)")},
)
async def release(hold_id: uuid.UUID, principal: CurrentPrincipal, ctx: Ctx) -> HoldOut:
    result = await service.release(ctx.pool, ctx.clock, hold_id=hold_id, principal=principal)
    if not result.replayed:
        ctx.wake_outbox()
    return HoldOut.of(result.hold, ctx.clock.now())


@router.get("/{hold_id}", response_model=HoldOut, responses={404: error("hold_not_found")})
async def get_hold(hold_id: uuid.UUID, principal: CurrentPrincipal, ctx: Ctx) -> HoldOut:
    return HoldOut.of(await service.get_hold(ctx.pool, hold_id, principal), ctx.clock.now())


@router.get(
    "",
    response_model=HoldPage,
    responses={400: error("bad_request: invalid cursor"), 404: error("another user's holds")},
)
async def list_holds(
    principal: CurrentPrincipal,
    ctx: Ctx,
    status: Annotated[HoldStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
    user_id: Annotated[
        str | None, Query(max_length=255, description="admin only: whose holds")
    ] = None,
) -> HoldPage:
    rows, next_seq = await service.holds_page(
        ctx.pool,
        subject(principal, user_id),
        status=status,
        limit=limit,
        before_seq=decode_cursor(cursor) if cursor is not None else None,
    )
    now = ctx.clock.now()
    return HoldPage(
        items=[HoldOut.of(r, now) for r in rows],
        next_cursor=encode_cursor(next_seq) if next_seq is not None else None,
    )
