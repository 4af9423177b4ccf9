"""The auto-recharge API: read and set the caller's settings, trigger a recharge now.

Refusals: 422 `validation_error` (threshold, caps or amounts out of range, two purchases or
none), 422 `unknown_unit` / `unknown_package` / `unknown_product` / `quantity_out_of_range` /
`amount_out_of_range` / `currency_not_chargeable` / `cap_below_amount`, 422
`auto_recharge_method_refused` (Alipay, WeChat Pay, USDT: not chargeable off-session here),
422 `payment_method_required` (no saved card), 404 `payment_method_not_found` (unknown, or
another user's), 404 `auto_recharge_not_configured`, 409 `recharge_in_flight`, 409
`auto_recharge_not_active`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from paystream.checkout.auto_recharge import service
from paystream.checkout.auto_recharge.schemas import (
    AttemptOut,
    AutoRechargeIn,
    AutoRechargeList,
    AutoRechargeOut,
    TriggerIn,
)
from paystream.checkout.context import CheckoutContext, Context, error_doc, recharger
from paystream.shared.auth import CurrentPrincipal

router = APIRouter(prefix="/v1/auto-recharge", tags=["auto-recharge"])


@router.get(
    "",
    response_model=AutoRechargeList,
    summary="The caller's auto-recharge settings (one per unit) and latest attempts",
)
async def get_settings(principal: CurrentPrincipal, ctx: Context) -> AutoRechargeList:
    settings = await service.settings_of(ctx.pool, principal.user_id)
    attempts = await service.attempts_of(ctx.pool, principal.user_id)
    return AutoRechargeList(
        items=[AutoRechargeOut.of(s) for s in settings],
        attempts=[AttemptOut.of(a) for a in attempts],
    )


@router.put(
    "",
    response_model=AutoRechargeOut,
    summary="Set (replace) the caller's auto-recharge of one unit",
    responses={
        **error_doc(404, "payment_method_not_found", "unknown, or another user's method"),
        **error_doc(
            422,
            "validation_error | unknown_unit | auto_recharge_method_refused | "
            "payment_method_required | cap_below_amount | currency_not_chargeable",
            "bad body, a method that cannot be charged off-session, no saved card, ...",
        ),
    },
)
async def put_settings(
    body: AutoRechargeIn, principal: CurrentPrincipal, ctx: Context
) -> AutoRechargeOut:
    stored = await service.configure(
        ctx.pool,
        service.Configure(
            user_id=principal.user_id,
            actor=principal.user_id,
            unit=body.unit,
            enabled=body.enabled,
            threshold=body.threshold,
            purchase=body.purchase(),
            payment_method_id=body.payment_method_id,
            monthly_cap=body.monthly_cap.to_money(),
            daily_count_cap=body.daily_count_cap,
            consent_text=body.consent_text,
        ),
        recharger(ctx),
    )
    ctx.wake_outbox()
    return AutoRechargeOut.of(stored)


@router.post(
    "/trigger",
    response_model=AttemptOut,
    summary="Recharge now (the caps and the one-in-flight rule hold as for a crossing)",
    responses={
        **error_doc(404, "auto_recharge_not_configured", "no setting for the unit"),
        **error_doc(409, "recharge_in_flight | auto_recharge_not_active", "not now"),
    },
)
async def trigger(
    body: TriggerIn,
    principal: CurrentPrincipal,
    ctx: Context,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=255),
    ] = None,
) -> AttemptOut:
    attempt = await service.trigger(
        ctx.pool, principal.user_id, body.unit, idempotency_key, recharger(ctx)
    )
    _wake(ctx)
    return AttemptOut.of(attempt)


def _wake(ctx: CheckoutContext) -> None:
    ctx.wake_outbox()
