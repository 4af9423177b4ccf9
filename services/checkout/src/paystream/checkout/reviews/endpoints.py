"""Payments held for review (admin): list them and decide each one.

Refusals (status, code):
- 401 unauthorized: no or bad bearer token. 403 forbidden: not an admin.
- 404 not_found: unknown or malformed review id.
- 409 decision_not_allowed: already decided, or a decision this kind of review does not allow
  (see `allowed_decisions` on each review).
- 409 order_not_refundable, 422 amount_exceeds_refundable, 502 upstream_error: a refund
  decision the refund itself refused (as POST /v1/refunds does).
- 422 validation_error: malformed body (a reason is required) or query. 400 bad_request: cursor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from paystream.checkout.context import Context, error_doc
from paystream.checkout.reviews import service
from paystream.checkout.reviews.domain import ReviewStatus
from paystream.checkout.reviews.schemas import DecisionIn, ReviewOut, ReviewPage
from paystream.shared.auth import AdminPrincipal
from paystream.shared.pagination import CursorQuery

router = APIRouter(prefix="/v1/admin/reviews", tags=["payment reviews"])

_ADMIN = {
    **error_doc(401, "unauthorized", "no or invalid bearer token"),
    **error_doc(403, "forbidden", "not an admin"),
}
_DECIDE = {
    **_ADMIN,
    **error_doc(404, "not_found", "unknown review"),
    **error_doc(409, "decision_not_allowed", "already decided, or not for this kind of review"),
    **error_doc(422, "validation_error", "a reason is required"),
}


@router.get(
    "",
    response_model=ReviewPage,
    summary="Payments held for an operator, newest first (admin)",
    responses={**_ADMIN, **error_doc(400, "bad_request", "invalid cursor")},
)
async def list_reviews(
    ctx: Context,
    _: AdminPrincipal,
    status: ReviewStatus | None = None,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
) -> ReviewPage:
    items, next_cursor = await service.list_reviews(
        ctx.pool, status=status, order_id=order_id, cursor=cursor, limit=limit
    )
    return ReviewPage(items=[ReviewOut.of(r) for r in items], next_cursor=next_cursor)


@router.get(
    "/{review_id}",
    response_model=ReviewOut,
    summary="One payment review (admin)",
    responses={**_ADMIN, **error_doc(404, "not_found", "unknown review")},
)
async def get_review(review_id: str, ctx: Context, _: AdminPrincipal) -> ReviewOut:
    return ReviewOut.of(await service.get_review(ctx.pool, review_id))


@router.post(
    "/{review_id}/accept",
    response_model=ReviewOut,
    summary="Accept the payment: grant as the order says, invoice what was paid (admin)",
    responses=_DECIDE,
)
async def accept_review(
    review_id: str, body: DecisionIn, ctx: Context, admin: AdminPrincipal
) -> ReviewOut:
    review = await service.accept(ctx.pool, review_id, admin, body.reason, plans=ctx.plans)
    ctx.wake_outbox()
    return ReviewOut.of(review)


@router.post(
    "/{review_id}/refund",
    response_model=ReviewOut,
    summary="Refund the payment (all of it, or an overpayment's difference) (admin)",
    responses={
        **_DECIDE,
        **error_doc(409, "order_not_refundable", "the order cannot be refunded"),
        **error_doc(502, "upstream_error", "the provider refused; the refund is marked failed"),
    },
)
async def refund_review(
    review_id: str, body: DecisionIn, ctx: Context, admin: AdminPrincipal
) -> ReviewOut:
    review = await service.refund(ctx.pool, review_id, admin, body.reason, providers=ctx.providers)
    ctx.wake_outbox()
    return ReviewOut.of(review)


@router.post(
    "/{review_id}/dismiss",
    response_model=ReviewOut,
    summary="Close a review that needs nothing from paystream (admin)",
    responses=_DECIDE,
)
async def dismiss_review(
    review_id: str, body: DecisionIn, ctx: Context, admin: AdminPrincipal
) -> ReviewOut:
    return ReviewOut.of(await service.dismiss(ctx.pool, review_id, admin, body.reason))
