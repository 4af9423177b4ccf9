"""`GET /v1/admin/refunds`: refunds as the ledger applied them, for operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from paystream.ledger.common import error
from paystream.ledger.context import LedgerContext, ledger
from paystream.ledger.cursor import decode_cursor, encode_cursor
from paystream.ledger.refunds import service
from paystream.ledger.refunds.schemas import RefundItem, RefundPage, RefundStatus
from paystream.shared.auth import AdminPrincipal
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1", tags=["refunds"])


@router.get(
    "/admin/refunds",
    response_model=RefundPage,
    summary="Refunds as the ledger applied them (admin): shortfalls, pending, rejected",
    responses={
        400: error("bad_request: invalid cursor"),
        401: error("no or bad token"),
        403: error("forbidden: not an admin"),
        422: error("validation_error: limit outside 1..100, or an unknown status"),
    },
)
async def list_refunds(
    _: AdminPrincipal,
    ctx: Annotated[LedgerContext, Depends(ledger)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
    status: Annotated[RefundStatus | None, Query(description="only refunds in this state")] = None,
    shortfall: Annotated[
        bool, Query(description="only refunds that could not revoke all they owed")
    ] = False,
    user_id: Annotated[
        str | None, Query(max_length=255, description="only this user's refunds")
    ] = None,
) -> RefundPage:
    before = decode_cursor(cursor) if cursor is not None else None
    rows, next_seq = await service.refunds_page(
        ctx.pool,
        status=status,
        shortfall_only=shortfall,
        user_id=user_id,
        limit=limit,
        before_seq=before,
    )
    return RefundPage(
        items=[RefundItem.of(r) for r in rows],
        next_cursor=encode_cursor(next_seq) if next_seq is not None else None,
    )
