"""The refunds API: an admin refunds all or part of a paid order, confirms a manual payout;
owners and admins read refunds.

Refusals (status, code):
- 401 unauthorized: no or bad bearer token.
- 403 forbidden: creating a refund or confirming a payout without the admin role.
- 422 validation_error: malformed body or query (Idempotency-Key missing or longer than 255, an
  amount with too many decimals, invalid status filter, limit out of 1..100).
- 422 amount_exceeds_refundable / currency_mismatch: a refund for more than is left, or in
  another currency than the payment.
- 422 idempotency_key_reused: the Idempotency-Key was used with another body.
- 409 order_not_refundable / refund_not_awaiting_payout: the order or refund is not in a state
  that allows it.
- 404 not_found: unknown or malformed id, another user's refund.
- 400 bad_request: invalid pagination cursor.
- 502 upstream_error: the provider refused (the refund is marked failed). A provider that gave
  no believable answer (a timeout, a reset, a 5xx) is not a refusal: the refund is answered 201
  `pending`, its amount held, until a notification or the reconciler settles it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from paystream.checkout.context import Context, error_doc
from paystream.checkout.refunds import service
from paystream.checkout.refunds.domain import RefundState
from paystream.checkout.refunds.schemas import (
    ConfirmPayoutIn,
    CreateRefundIn,
    RefundOut,
    RefundPage,
    UnmatchedRefundOut,
    UnmatchedRefundPage,
)
from paystream.shared.auth import AdminPrincipal, CurrentPrincipal
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1", tags=["refunds"])


@router.get(
    "/admin/refunds/unmatched",
    response_model=UnmatchedRefundPage,
    summary="Refunds a provider reported that checkout could not apply, newest first (admin)",
    responses={
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(403, "forbidden", "not an admin"),
        **error_doc(400, "bad_request", "invalid cursor"),
    },
)
async def list_unmatched_refunds(
    principal: AdminPrincipal,
    ctx: Context,
    include_resolved: Annotated[
        bool, Query(description="Also those applied after all (resolved_at set).")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
) -> UnmatchedRefundPage:
    items, next_cursor = await service.list_unmatched(
        ctx.pool, include_resolved=include_resolved, limit=limit, cursor=cursor
    )
    return UnmatchedRefundPage(
        items=[UnmatchedRefundOut.of(u) for u in items], next_cursor=next_cursor
    )


@router.post(
    "/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund all or part of a paid order (admin)",
    responses={
        **error_doc(401, "unauthorized", "no or invalid bearer token"),
        **error_doc(403, "forbidden", "not an admin"),
        **error_doc(404, "not_found", "unknown order"),
        **error_doc(409, "order_not_refundable", "the order is not paid"),
        **error_doc(
            422,
            "validation_error | amount_exceeds_refundable | currency_mismatch | "
            "unknown_payment | payment_refund_ambiguous | idempotency_key_reused",
            "bad body, more than is left to refund (of the payment named), another currency,"
            " a provider_payment_id the order does not hold (or one the provider cannot refund"
            " apart from the order's payment), or key reused",
        ),
        **error_doc(502, "upstream_error", "the provider refused; the refund is marked failed"),
    },
)
async def create_refund(
    body: CreateRefundIn,
    principal: AdminPrincipal,
    ctx: Context,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Required: retries with the same key and body return the same refund.",
        ),
    ],
) -> RefundOut:
    done = await service.request_refund(
        ctx.pool,
        service.RequestRefund(
            order_id=body.order_id,
            amount=None if body.amount is None else body.amount.to_money(),
            reason=body.reason,
            requested_by=principal.user_id,
            idempotency_key=idempotency_key,
            provider_payment_id=body.provider_payment_id,
        ),
        providers=ctx.providers,
    )
    if done.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    ctx.wake_outbox()
    return RefundOut.of(done.refund)


@router.post(
    "/refunds/{refund_id}/confirm-payout",
    response_model=RefundOut,
    summary="Confirm a manual (USDT) refund was paid out (admin)",
    responses={
        **error_doc(403, "forbidden", "not an admin"),
        **error_doc(404, "not_found", "unknown refund"),
        **error_doc(409, "refund_not_awaiting_payout", "the refund is not a manual one awaiting"),
    },
)
async def confirm_payout(
    refund_id: str, body: ConfirmPayoutIn, principal: AdminPrincipal, ctx: Context
) -> RefundOut:
    refund = await service.confirm_payout(ctx.pool, refund_id, body.reference)
    ctx.wake_outbox()
    return RefundOut.of(refund)


@router.get(
    "/refunds/{refund_id}",
    response_model=RefundOut,
    summary="One refund (the order's owner or an admin)",
    responses={**error_doc(404, "not_found", "unknown id, or another user's refund")},
)
async def get_refund(refund_id: str, principal: CurrentPrincipal, ctx: Context) -> RefundOut:
    return RefundOut.of(await service.get_refund_for(ctx.pool, principal, refund_id))


@router.get(
    "/refunds",
    response_model=RefundPage,
    summary="Refunds, newest first: the caller's own, or everyone's for an admin",
    responses={**error_doc(400, "bad_request", "invalid cursor")},
)
async def list_refunds(
    principal: CurrentPrincipal,
    ctx: Context,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    status: RefundState | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
) -> RefundPage:
    items, next_cursor = await service.list_refunds_for(
        ctx.pool, principal, order_id=order_id, status=status, limit=limit, cursor=cursor
    )
    return RefundPage(items=[RefundOut.of(r) for r in items], next_cursor=next_cursor)
