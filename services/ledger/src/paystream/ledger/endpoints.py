"""The ledger's HTTP API: balance, history, spending, and refunds for operators. Each endpoint
hands the pool to a use case in `service`, which opens the transaction when it writes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from paystream.ledger import service
from paystream.ledger.schemas import (
    IDEMPOTENCY_KEY_MAX,
    BalanceResponse,
    RefundItem,
    RefundPage,
    RefundStatus,
    SpendRequest,
    SpendResponse,
    TransactionItem,
    TransactionPage,
    decode_cursor,
    encode_cursor,
)
from paystream.shared.auth import AdminPrincipal, CurrentPrincipal, Principal
from paystream.shared.errors import BadRequest, NotFound
from paystream.shared.runtime import ServiceRuntime

router = APIRouter(prefix="/v1", tags=["ledger"])


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"example": {"error": {"code": "...", "message": "..."}}}},
    }


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _subject(principal: Principal, user_id: str | None) -> str:
    """Whose ledger to read: your own; an admin may name anyone. Someone else's is not found,
    so user ids cannot be probed."""
    if user_id is None or user_id == principal.user_id:
        return principal.user_id
    if principal.is_admin:
        return user_id
    raise NotFound("no ledger for this user")


@router.get(
    "/balance",
    response_model=BalanceResponse,
    responses={401: _error("no or bad token"), 404: _error("another user's balance")},
)
async def get_balance(
    request: Request,
    principal: CurrentPrincipal,
    user_id: Annotated[str | None, Query(description="admin only: whose balance")] = None,
) -> BalanceResponse:
    subject = _subject(principal, user_id)
    credits = await service.balance_of(_runtime(request).pool, subject)
    return BalanceResponse(user_id=subject, credits=credits)


@router.get(
    "/transactions",
    response_model=TransactionPage,
    responses={
        400: _error("bad_request: invalid cursor"),
        401: _error("no or bad token"),
        404: _error("another user's history"),
        422: _error("validation_error: limit outside 1..100"),
    },
)
async def list_transactions(
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    user_id: Annotated[str | None, Query(description="admin only: whose history")] = None,
) -> TransactionPage:
    subject = _subject(principal, user_id)
    before = decode_cursor(cursor) if cursor is not None else None
    rows, next_seq = await service.history(
        _runtime(request).pool, subject, limit=limit, before_seq=before
    )
    return TransactionPage(
        items=[TransactionItem.of(r) for r in rows],
        next_cursor=encode_cursor(next_seq) if next_seq is not None else None,
    )


@router.post(
    "/spend",
    status_code=201,
    response_model=SpendResponse,
    responses={
        201: {
            "description": "spent; a replay of the same key and body carries the header "
            "`Idempotent-Replayed: true`"
        },
        400: _error("idempotency_key_required, or bad_request: key longer than 255"),
        401: _error("no or bad token"),
        409: _error("insufficient_credits: the balance is lower than `credits`"),
        422: _error("idempotency_key_reused (same key, other body), or validation_error"),
    },
)
async def spend(
    request: Request,
    body: SpendRequest,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="required; scoped to the caller"),
    ] = None,
) -> Response:
    if not idempotency_key:
        raise service.IdempotencyKeyRequired("the Idempotency-Key header is required")
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        raise BadRequest(f"Idempotency-Key is longer than {IDEMPOTENCY_KEY_MAX} characters")
    runtime = _runtime(request)
    spent = await service.spend(
        runtime.pool,
        user_id=principal.user_id,
        credits=body.credits,
        reason=body.reason,
        idempotency_key=idempotency_key,
    )
    if runtime.relay is not None and not spent.replayed:
        runtime.relay.wake()
    # Built from the stored transaction either way, so a replay is byte for byte the original.
    return Response(
        SpendResponse.of(spent.transaction).model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if spent.replayed else None,
    )


@router.get(
    "/admin/refunds",
    response_model=RefundPage,
    summary="Refunds as the ledger applied them (admin): shortfalls, pending, rejected",
    responses={
        400: _error("bad_request: invalid cursor"),
        401: _error("no or bad token"),
        403: _error("forbidden: not an admin"),
        422: _error("validation_error: limit outside 1..100, or an unknown status"),
    },
)
async def list_refunds(
    request: Request,
    _: AdminPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    status: Annotated[RefundStatus | None, Query(description="only refunds in this state")] = None,
    shortfall: Annotated[
        bool, Query(description="only refunds that could not revoke all they owed")
    ] = False,
    user_id: Annotated[str | None, Query(description="only this user's refunds")] = None,
) -> RefundPage:
    before = decode_cursor(cursor) if cursor is not None else None
    rows, next_seq = await service.refunds_page(
        _runtime(request).pool,
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
