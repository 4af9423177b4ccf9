"""The saved payment methods API: start saving a card (a SetupIntent that Stripe.js confirms),
list the user's cards, choose the default, remove one. Every call is the caller's own: another
user's method is 404 `payment_method_not_found`, never 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from paystream.checkout.context import Context, error_doc, saved_methods
from paystream.checkout.payment_methods import service
from paystream.checkout.payment_methods.schemas import SavedMethodList, SavedMethodOut, SetupOut
from paystream.shared.auth import CurrentPrincipal

router = APIRouter(prefix="/v1/payment-methods", tags=["payment methods"])

MethodId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_]{1,255}$", description="Stripe's pm_...")]
_NOT_FOUND = error_doc(404, "payment_method_not_found", "unknown, or another user's method")
_UPSTREAM = error_doc(502, "upstream_error", "Stripe refused or did not answer")


@router.post(
    "/setup",
    status_code=201,
    response_model=SetupOut,
    summary="Start saving a card: a SetupIntent for Stripe.js to confirm",
    responses={**error_doc(401, "unauthorized", "no or invalid bearer token"), **_UPSTREAM},
)
async def setup(principal: CurrentPrincipal, ctx: Context) -> SetupOut:
    customer, started = await service.start_setup(ctx.pool, saved_methods(ctx), principal.user_id)
    return SetupOut(
        setup_intent_id=started.setup_intent_id,
        client_secret=started.client_secret,
        customer_id=customer,
    )


@router.get(
    "/saved",
    response_model=SavedMethodList,
    summary="The caller's saved methods: brand, last 4, expiry, which one is the default",
)
async def list_saved(principal: CurrentPrincipal, ctx: Context) -> SavedMethodList:
    methods = await service.list_saved(ctx.pool, principal.user_id)
    return SavedMethodList(items=[SavedMethodOut.of(m) for m in methods])


@router.post(
    "/saved/{method_id}/default",
    response_model=SavedMethodOut,
    summary="Make a saved method the default (Stripe's customer default too)",
    responses={**_NOT_FOUND, **_UPSTREAM},
)
async def make_default(
    method_id: MethodId, principal: CurrentPrincipal, ctx: Context
) -> SavedMethodOut:
    done = await service.make_default(ctx.pool, saved_methods(ctx), principal.user_id, method_id)
    return SavedMethodOut.of(done)


@router.delete(
    "/saved/{method_id}",
    status_code=204,
    summary="Remove a saved method (detached at Stripe)",
    responses={**_NOT_FOUND, **_UPSTREAM},
)
async def remove(method_id: MethodId, principal: CurrentPrincipal, ctx: Context) -> Response:
    await service.remove(ctx.pool, saved_methods(ctx), principal.user_id, method_id)
    return Response(status_code=204)
