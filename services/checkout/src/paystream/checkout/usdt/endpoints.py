"""Operators' view of the USDT transfers the watcher recorded: `GET /v1/admin/usdt/transfers`.

Refusals (status, code):
- 401 unauthorized: no or bad bearer token.
- 403 forbidden: not an admin.
- 422 validation_error: unknown `status`, `limit` outside 1..100.
- 400 bad_request: invalid pagination cursor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from paystream.checkout.context import Context
from paystream.checkout.usdt import service
from paystream.checkout.usdt.domain import TransferStatus
from paystream.checkout.usdt.schemas import UsdtTransferOut, UsdtTransferPage
from paystream.shared.auth import AdminPrincipal
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1/admin/usdt", tags=["usdt"])


@router.get(
    "/transfers",
    response_model=UsdtTransferPage,
    summary="USDT transfers to the deposit address and what became of them (admin)",
    responses={
        400: {"description": "`bad_request`: invalid cursor"},
        401: {"description": "`unauthorized`: no or bad bearer token"},
        403: {"description": "`forbidden`: not an admin"},
        422: {"description": "`validation_error`: unknown status or limit out of 1..100"},
    },
)
async def list_usdt_transfers(
    ctx: Context,
    principal: AdminPrincipal,
    status: Annotated[
        TransferStatus | None,
        Query(description="Only transfers with this verdict (e.g. unmatched, underpaid)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
) -> UsdtTransferPage:
    items, next_cursor = await service.list_transfers(
        ctx.pool, status=status, limit=limit, cursor=cursor
    )
    return UsdtTransferPage(items=[UsdtTransferOut.of(t) for t in items], next_cursor=next_cursor)
