"""HTTP API: list and read invoices and credit notes. Another user's document is 404, never
403. Each endpoint hands the pool to a read use case in `service`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request

from paystream.invoicing import service
from paystream.invoicing.schemas import CreditNoteList, CreditNoteOut, InvoiceList, InvoiceOut
from paystream.shared.auth import CurrentPrincipal
from paystream.shared.http import error_body
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1", tags=["invoices"])


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(_pool)]


def _refuses(*pairs: tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": f"`{code}`: {why}",
            "content": {"application/json": {"example": error_body(code, why)}},
        }
        for status, code, why in pairs
    }


_UNAUTHORIZED = (401, "unauthorized", "missing, invalid or expired bearer token")


@router.get(
    "/invoices",
    response_model=InvoiceList,
    summary="List invoices, newest first",
    responses=_refuses(
        (400, "bad_request", "the cursor is not one this API returned"),
        _UNAUTHORIZED,
        (403, "forbidden", "user_id of another user, and the caller is not an admin"),
        (422, "validation_error", "limit outside 1..100"),
    ),
)
async def list_invoices(
    principal: CurrentPrincipal,
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
    order_id: Annotated[
        str | None, Query(max_length=64, description="only the invoice of this order")
    ] = None,
    user_id: Annotated[
        str | None, Query(max_length=255, description="admins: only this user's invoices")
    ] = None,
) -> InvoiceList:
    page = await service.list_invoices(
        pool, principal, limit=limit, cursor=cursor, order_id=order_id, user_id=user_id
    )
    return InvoiceList(
        items=[InvoiceOut.of(i, page.credit_notes.get(i.id)) for i in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceOut,
    summary="One invoice (owner or admin)",
    responses=_refuses(
        _UNAUTHORIZED,
        (404, "not_found", "no such invoice, a malformed id, or another user's invoice"),
    ),
)
async def get_invoice(invoice_id: str, principal: CurrentPrincipal, pool: Pool) -> InvoiceOut:
    invoice, notes = await service.get_invoice(pool, principal, invoice_id)
    return InvoiceOut.of(invoice, notes)


@router.get(
    "/credit-notes",
    response_model=CreditNoteList,
    summary="List credit notes, newest first",
    tags=["credit notes"],
    responses=_refuses(
        (400, "bad_request", "the cursor is not one this API returned"),
        _UNAUTHORIZED,
        (403, "forbidden", "user_id of another user, and the caller is not an admin"),
        (422, "validation_error", "limit outside 1..100, or invoice_id not a UUID"),
    ),
)
async def list_credit_notes(
    principal: CurrentPrincipal,
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
    invoice_id: Annotated[
        uuid.UUID | None, Query(description="only the credit notes of this invoice")
    ] = None,
    user_id: Annotated[
        str | None, Query(max_length=255, description="admins: only this user's credit notes")
    ] = None,
    order_id: Annotated[
        str | None, Query(max_length=64, description="only the credit notes of this order")
    ] = None,
) -> CreditNoteList:
    page = await service.list_credit_notes(
        pool,
        principal,
        limit=limit,
        cursor=cursor,
        invoice_id=invoice_id,
        user_id=user_id,
        order_id=order_id,
    )
    return CreditNoteList(
        items=[CreditNoteOut.of(n) for n in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/credit-notes/{credit_note_id}",
    response_model=CreditNoteOut,
    summary="One credit note (owner or admin)",
    tags=["credit notes"],
    responses=_refuses(
        _UNAUTHORIZED,
        (404, "not_found", "no such credit note, a malformed id, or another user's"),
    ),
)
async def get_credit_note(
    credit_note_id: str, principal: CurrentPrincipal, pool: Pool
) -> CreditNoteOut:
    note = await service.get_credit_note(pool, principal, credit_note_id)
    return CreditNoteOut.of(note)
