"""Operators' view of the USDT transfers the watcher recorded: `GET /v1/admin/usdt/transfers`.

Refusals (status, code):
- 401 unauthorized: no or bad bearer token.
- 403 forbidden: not an admin.
- 422 validation_error: unknown `status`, `limit` outside 1..100.
- 400 bad_request: invalid pagination cursor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from paystream.checkout.providers.usdt import CURRENCY
from paystream.checkout.usdt_watcher import TransferStatus
from paystream.shared.auth import AdminPrincipal
from paystream.shared.db import Connection
from paystream.shared.money import Money
from paystream.shared.pagination import KeysetCursor, keyset_page
from paystream.shared.schemas import MoneyOut

router = APIRouter(prefix="/v1/admin/usdt", tags=["usdt"])


class UsdtTransferOut(BaseModel):
    id: str
    transaction_id: str
    event_index: int
    from_address: str
    to_address: str
    amount: MoneyOut
    # What the matched deposit asked for (absent when unmatched).
    expected: MoneyOut | None
    status: TransferStatus
    credited: bool
    order_id: str | None
    deposit_id: str | None
    block_number: int | None
    block_timestamp: datetime
    note: str | None
    seen_at: datetime


class UsdtTransferPage(BaseModel):
    items: list[UsdtTransferOut]
    next_cursor: str | None


def _pool(request: Request) -> asyncpg.Pool:
    # Checkout's context (app.state.checkout) carries the pool.
    pool: asyncpg.Pool = request.app.state.checkout.pool
    return pool


def _out(row: asyncpg.Record) -> UsdtTransferOut:
    expected = row["expected_minor"]
    return UsdtTransferOut(
        id=str(row["id"]),
        transaction_id=row["transaction_id"],
        event_index=row["event_index"],
        from_address=row["from_address"],
        to_address=row["to_address"],
        amount=MoneyOut.of(Money(row["amount_minor"], row["currency"])),
        expected=None if expected is None else MoneyOut.of(Money(expected, CURRENCY)),
        status=TransferStatus(row["status"]),
        credited=row["credited"],
        order_id=None if row["order_id"] is None else str(row["order_id"]),
        deposit_id=None if row["deposit_id"] is None else str(row["deposit_id"]),
        block_number=row["block_number"],
        block_timestamp=row["block_timestamp"],
        note=row["note"],
        seen_at=row["seen_at"],
    )


async def list_transfers(
    conn: Connection,
    *,
    status: TransferStatus | None,
    before: KeysetCursor | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Transfers newest first (by when the watcher recorded them), keyset on (seen_at, id)."""
    return await conn.fetch(
        """
        SELECT * FROM usdt_transfers
        WHERE ($1::text IS NULL OR status = $1)
          AND ($2::timestamptz IS NULL OR (seen_at, id) < ($2, $3::uuid))
        ORDER BY seen_at DESC, id DESC
        LIMIT $4
        """,
        None if status is None else status.value,
        None if before is None else before.at,
        None if before is None else before.id,
        limit,
    )


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
async def get_transfers(
    request: Request,
    principal: AdminPrincipal,
    status: Annotated[
        TransferStatus | None,
        Query(description="Only transfers with this verdict (e.g. unmatched, underpaid)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> UsdtTransferPage:
    before = KeysetCursor.from_query(cursor)
    async with _pool(request).acquire() as conn:
        rows = await list_transfers(conn, status=status, before=before, limit=limit + 1)
    page, next_cursor = keyset_page(
        rows, limit, lambda r: KeysetCursor(r["seen_at"], uuid.UUID(str(r["id"])))
    )
    return UsdtTransferPage(items=[_out(r) for r in page], next_cursor=next_cursor)
