"""The subscriptions API: the caller's subscription, subscribe, preview and change plans,
cancel or resume, renew (plans without recurring charges). Bearer auth; every user has one
subscription, on the free plan until they buy another.

Refusals (status, code):
- 404 plans_not_offered: the catalog sells no plans.
- 422 validation_error, unknown_plan, currency_not_offered, payment_method_unavailable,
  idempotency_key_reused; preview_invalid / preview_expired (an altered, foreign or expired
  preview).
- 409 subscription_exists (a second subscription: change the plan instead), plan_unchanged (a
  change to the current plan, or subscribing to the free plan), no_paid_plan (changing,
  cancelling or renewing the free plan), change_pending (an upgrade or subscription waits to be
  paid), subscription_past_due, renewal_not_due, renews_automatically, subscription_canceling,
  preview_stale (the subscription moved on since the preview).
- 502 upstream_error: the provider did not open the payment (the order is failed).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response

from paystream.checkout.context import CheckoutContext, Context, error_doc
from paystream.checkout.orders.schemas import OrderOut
from paystream.checkout.plans.domain import ChangeKind
from paystream.checkout.subscriptions import service
from paystream.checkout.subscriptions.schemas import (
    ChangedOut,
    ChangeIn,
    OpenedOut,
    PreviewIn,
    PreviewOut,
    RenewIn,
    SubscribeIn,
    SubscriptionOut,
)
from paystream.shared.auth import CurrentPrincipal
from paystream.shared.errors import Forbidden

router = APIRouter(prefix="/v1", tags=["subscriptions"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retries with the same key and body return the same order.",
    ),
]

_REFUSED = {
    **error_doc(401, "unauthorized", "no or invalid bearer token"),
    **error_doc(404, "plans_not_offered", "the catalog sells no plans"),
}


async def _out(ctx: CheckoutContext, user_id: str) -> SubscriptionOut:
    return SubscriptionOut.of(await service.view(ctx.pool, user_id, ctx.plans), ctx.plans)


@router.get(
    "/subscription",
    response_model=SubscriptionOut,
    summary="The caller's subscription (on the free plan until they buy another)",
    responses={**_REFUSED, **error_doc(403, "forbidden", "user_id of another user, not admin")},
)
async def get_subscription(
    principal: CurrentPrincipal,
    ctx: Context,
    user_id: Annotated[str | None, Query(max_length=255, description="admins: a user's")] = None,
) -> SubscriptionOut:
    if user_id is not None and user_id != principal.user_id and not principal.is_admin:
        raise Forbidden("only an admin reads another user's subscription")
    return await _out(ctx, user_id or principal.user_id)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=OpenedOut,
    summary="Buy a paid plan (from the free plan): an order for its first period",
    responses={
        **_REFUSED,
        **error_doc(409, "subscription_exists | plan_unchanged | change_pending", "see the module"),
        **error_doc(
            422,
            "validation_error | unknown_plan | currency_not_offered | "
            "payment_method_unavailable | idempotency_key_reused",
            "not a plan or method on sale",
        ),
        **error_doc(502, "upstream_error", "the provider failed; the order is failed"),
    },
)
async def subscribe(
    body: SubscribeIn,
    principal: CurrentPrincipal,
    ctx: Context,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OpenedOut:
    opened = await service.subscribe(
        ctx.pool,
        service.Subscribe(
            user_id=principal.user_id,
            plan_id=body.plan_id,
            payment_method=body.payment_method,
            currency=None if body.currency is None else body.currency.upper(),
            return_url=None if body.return_url is None else str(body.return_url),
            idempotency_key=idempotency_key,
            client_ip=_ip(request),
        ),
        plans=ctx.plans,
        providers=ctx.providers,
    )
    if opened.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    ctx.wake_outbox()
    return OpenedOut(
        subscription=await _out(ctx, principal.user_id),
        order=None if opened.order is None else OrderOut.of(opened.order),
    )


@router.post(
    "/subscriptions/preview",
    response_model=PreviewOut,
    summary="What a change to another plan costs and grants now: a signed, expiring preview",
    responses={
        **_REFUSED,
        **error_doc(409, "plan_unchanged | no_paid_plan | subscription_past_due", "see above"),
        **error_doc(422, "validation_error | unknown_plan | currency_not_offered", "see above"),
    },
)
async def preview(body: PreviewIn, principal: CurrentPrincipal, ctx: Context) -> PreviewOut:
    p = await service.preview(
        ctx.pool,
        principal.user_id,
        body.plan_id,
        plans=ctx.plans,
        signer=ctx.signer,
        ttl=ctx.quote_ttl,
    )
    ctx.wake_outbox()
    return PreviewOut.of(p)


@router.post(
    "/subscriptions/change",
    response_model=ChangedOut,
    summary="Change plans: an upgrade at once (its prorated difference paid), a downgrade at "
    "the period's end",
    responses={
        **_REFUSED,
        **error_doc(
            409,
            "plan_unchanged | no_paid_plan | change_pending | subscription_past_due | "
            "preview_stale",
            "see the module",
        ),
        **error_doc(
            422,
            "validation_error | unknown_plan | currency_not_offered | "
            "payment_method_unavailable | preview_invalid | preview_expired | "
            "idempotency_key_reused",
            "see the module",
        ),
        **error_doc(502, "upstream_error", "the provider failed; the order is failed"),
    },
)
async def change(
    body: ChangeIn,
    principal: CurrentPrincipal,
    ctx: Context,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ChangedOut:
    changed = await service.change(
        ctx.pool,
        service.Change(
            user_id=principal.user_id,
            plan_id=body.plan_id,
            preview=body.preview,
            payment_method=body.payment_method,
            return_url=None if body.return_url is None else str(body.return_url),
            idempotency_key=idempotency_key,
            client_ip=_ip(request),
        ),
        plans=ctx.plans,
        providers=ctx.providers,
        signer=ctx.signer,
    )
    if changed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    ctx.wake_outbox()
    upgrade = changed.kind is ChangeKind.UPGRADE
    return ChangedOut(
        subscription=await _out(ctx, principal.user_id),
        change="upgrade" if upgrade else "downgrade",
        effective="now" if upgrade else "period_end",
        effective_at=changed.effective_at,
        order=None if changed.order is None else OrderOut.of(changed.order),
    )


@router.post(
    "/subscriptions/cancel",
    response_model=SubscriptionOut,
    summary="End the paid plan at the period's end (then the free plan); again: a no-op",
    responses={**_REFUSED, **error_doc(409, "no_paid_plan", "the free plan")},
)
async def cancel(principal: CurrentPrincipal, ctx: Context) -> SubscriptionOut:
    await service.cancel(ctx.pool, principal.user_id, plans=ctx.plans)
    ctx.wake_outbox()
    return await _out(ctx, principal.user_id)


@router.post(
    "/subscriptions/resume",
    response_model=SubscriptionOut,
    summary="Undo a scheduled cancel or downgrade",
    responses=_REFUSED,
)
async def resume(principal: CurrentPrincipal, ctx: Context) -> SubscriptionOut:
    await service.resume(ctx.pool, principal.user_id, plans=ctx.plans)
    ctx.wake_outbox()
    return await _out(ctx, principal.user_id)


@router.post(
    "/subscriptions/renew",
    status_code=201,
    response_model=OpenedOut,
    summary="The order for the next period of a plan paid without recurring charges",
    responses={
        **_REFUSED,
        **error_doc(
            409,
            "no_paid_plan | renews_automatically | subscription_canceling | renewal_not_due",
            "see the module",
        ),
        **error_doc(
            422, "validation_error | payment_method_unavailable | idempotency_key_reused", ""
        ),
        **error_doc(502, "upstream_error", "the provider failed; the order is failed"),
    },
)
async def renew(
    principal: CurrentPrincipal,
    ctx: Context,
    request: Request,
    response: Response,
    # Optional (an empty body renews with the method that paid last), but typed as RenewIn with
    # a default rather than `RenewIn | None`, so the contract names the model and its examples.
    body: Annotated[RenewIn, Body()] = RenewIn(),  # noqa: B008 (FastAPI copies the default)
    idempotency_key: IdempotencyKey = None,
) -> OpenedOut:
    opened = await service.renew(
        ctx.pool,
        service.Renew(
            user_id=principal.user_id,
            payment_method=body.payment_method,
            return_url=None if body.return_url is None else str(body.return_url),
            idempotency_key=idempotency_key,
            client_ip=_ip(request),
        ),
        plans=ctx.plans,
        providers=ctx.providers,
    )
    if opened.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    ctx.wake_outbox()
    return OpenedOut(
        subscription=await _out(ctx, principal.user_id),
        order=None if opened.order is None else OrderOut.of(opened.order),
    )
