"""`GET /v1/transactions`: a user's history, every kind of entry with its lots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from paystream.ledger.books.domain import Kind
from paystream.ledger.common import error, subject
from paystream.ledger.context import LedgerContext, ledger
from paystream.ledger.cursor import decode_cursor, encode_cursor
from paystream.ledger.errors import InvalidTime
from paystream.ledger.history import service
from paystream.ledger.history.schemas import TransactionItem, TransactionPage
from paystream.shared.auth import CurrentPrincipal
from paystream.shared.events import UNIT_PATTERN
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1", tags=["history"])


@router.get(
    "/transactions",
    response_model=TransactionPage,
    responses={
        400: error("bad_request: invalid cursor"),
        401: error("no or bad token"),
        404: error("another user's history"),
        422: error("validation_error (limit outside 1..100, unknown type), invalid_time"),
    },
)
async def list_transactions(
    principal: CurrentPrincipal,
    ctx: Annotated[LedgerContext, Depends(ledger)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
    user_id: Annotated[
        str | None, Query(max_length=255, description="admin only: whose history")
    ] = None,
    type: Annotated[
        list[Kind] | None,
        Query(max_length=32, description="only these kinds (repeat the parameter)"),
    ] = None,
    unit: Annotated[str | None, Query(pattern=UNIT_PATTERN)] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="from this time on")] = None,
    to: Annotated[datetime | None, Query(description="before this time")] = None,
) -> TransactionPage:
    who = subject(principal, user_id)
    for t in (from_, to):
        if t is not None and t.tzinfo is None:
            raise InvalidTime("times need a timezone, e.g. 2026-01-31T00:00:00Z")
    before = decode_cursor(cursor) if cursor is not None else None
    rows, next_seq = await service.history(
        ctx.pool, who, limit=limit, before_seq=before, kinds=type, unit=unit, since=from_, until=to
    )
    return TransactionPage(
        items=[TransactionItem.of(r) for r in rows],
        next_cursor=encode_cursor(next_seq) if next_seq is not None else None,
    )
