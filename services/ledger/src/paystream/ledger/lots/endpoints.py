"""Balances and lots (`GET /v1/balance`, `GET /v1/lots`), and the operators' grants and voids
(`POST /v1/admin/grants`, `POST /v1/admin/lots/{id}/void`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from paystream.ledger.common import IdempotencyKey, error, require_key, subject
from paystream.ledger.context import LedgerContext, ledger
from paystream.ledger.cursor import decode_cursor, encode_cursor
from paystream.ledger.errors import InvalidTime
from paystream.ledger.history.schemas import TransactionItem
from paystream.ledger.lots import service
from paystream.ledger.lots.schemas import (
    BalanceOut,
    GrantIn,
    LotOut,
    LotPage,
    LotStatus,
    UnitBalanceOut,
    VoidIn,
)
from paystream.shared.auth import AdminPrincipal, CurrentPrincipal
from paystream.shared.events import DEFAULT_UNIT, UNIT_PATTERN
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1", tags=["balances and lots"])

Ctx = Annotated[LedgerContext, Depends(ledger)]
UnitQuery = Annotated[str | None, Query(pattern=UNIT_PATTERN, description="only this unit")]


@router.get(
    "/balance",
    response_model=BalanceOut,
    responses={
        401: error("no or bad token"),
        404: error("another user's balance"),
        422: error("unknown_unit, invalid_time (no timezone, or in the future)"),
    },
)
async def get_balance(
    principal: CurrentPrincipal,
    ctx: Ctx,
    user_id: Annotated[
        str | None, Query(max_length=255, description="admin only: whose balance")
    ] = None,
    unit: UnitQuery = None,
    at: Annotated[datetime | None, Query(description="the balance as it was at this time")] = None,
) -> BalanceOut:
    who = subject(principal, user_id)
    if unit is not None:
        await ctx.units.require(unit)
    now = ctx.clock.now()
    if at is not None and at.tzinfo is None:
        raise InvalidTime("`at` needs a timezone, e.g. 2026-01-31T00:00:00Z")
    if at is not None and at > now:
        raise InvalidTime(f"`at` is in the future (the ledger's now is {now.isoformat()})")
    moment = at or now
    balances = await service.balances(ctx.pool, who, unit=unit, at=moment, now=now)
    default = next((b.available for b in balances if b.unit == DEFAULT_UNIT), 0)
    return BalanceOut(
        user_id=who,
        at=moment,
        credits=default,
        balances=[UnitBalanceOut.of(b) for b in balances],
    )


@router.get(
    "/lots",
    response_model=LotPage,
    responses={
        400: error("bad_request: invalid cursor"),
        404: error("another user's lots"),
        422: error("unknown_unit, validation_error (status, limit)"),
    },
)
async def list_lots(
    principal: CurrentPrincipal,
    ctx: Ctx,
    unit: UnitQuery = None,
    status: Annotated[LotStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
    user_id: Annotated[
        str | None, Query(max_length=255, description="admin only: whose lots")
    ] = None,
) -> LotPage:
    who = subject(principal, user_id)
    if unit is not None:
        await ctx.units.require(unit)
    rows, next_seq = await service.lots_page(
        ctx.pool,
        who,
        ctx.clock.now(),
        unit=unit,
        status=status,
        limit=limit,
        before_seq=decode_cursor(cursor) if cursor is not None else None,
    )
    return LotPage(
        items=[LotOut.of(r) for r in rows],
        next_cursor=encode_cursor(next_seq) if next_seq is not None else None,
    )


def _answer(result: service.OperatorResult, status_code: int) -> Response:
    return Response(
        TransactionItem.of(result.transaction).model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if result.replayed else None,
    )


@router.post(
    "/admin/grants",
    status_code=201,
    response_model=TransactionItem,
    summary="Grant a lot of free credits (a promotion or an adjustment)",
    responses={
        400: error("idempotency_key_required"),
        403: error("forbidden: not an admin"),
        422: error("idempotency_key_reused, invalid_validity, validation_error"),
    },
)
async def operator_grant(
    body: GrantIn, admin: AdminPrincipal, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> Response:
    key = require_key(idempotency_key)
    result = await service.operator_grant(
        ctx.pool,
        ctx.clock,
        user_id=body.user_id,
        unit=body.unit,
        credits=body.credits,
        source=body.source,
        validity=body.validity,
        expires_at=body.expires_at,
        priority=body.priority,
        reason=body.reason,
        actor=admin.user_id,
        idempotency_key=key,
    )
    ctx.units.known.add(body.unit)
    if not result.replayed:
        ctx.wake_outbox()
    return _answer(result, 201)


@router.post(
    "/admin/lots/{lot_id}/void",
    response_model=TransactionItem,
    summary="Void what is left of a lot",
    responses={
        400: error("idempotency_key_required"),
        403: error("forbidden: not an admin"),
        404: error("lot_not_found"),
        409: error("lot_not_voidable (expired, voided, used up, or credits held)"),
        422: error("idempotency_key_reused, validation_error"),
    },
)
async def operator_void(
    lot_id: uuid.UUID,
    body: VoidIn,
    admin: AdminPrincipal,
    ctx: Ctx,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    key = require_key(idempotency_key)
    result = await service.operator_void(
        ctx.pool,
        ctx.clock,
        lot_id=lot_id,
        reason=body.reason,
        actor=admin.user_id,
        idempotency_key=key,
    )
    if not result.replayed:
        ctx.wake_outbox()
    return _answer(result, 200)


__all__ = ["LotOut", "router"]
