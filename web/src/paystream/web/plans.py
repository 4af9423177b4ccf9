"""The plans page: the person's plan (Basic until they buy another), its period and allowance;
subscribe with a payment method; preview a change (an upgrade's prorated charge and allowance,
or a downgrade at the period's end) and confirm it with the preview pinned; cancel at the
period's end, undo a scheduled change, pay the next period of a plan renewed by order.

Every number comes from checkout (`GET /v1/subscription`, `POST /v1/subscriptions/preview`);
the page prorates nothing. A refusal is shown on the page, next to the plan it is about.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from paystream.web.api import ApiError, Unavailable
from paystream.web.app import (
    PageError,
    Session,
    SessionDep,
    api_for,
    render,
    see_other,
    settings_of,
)
from paystream.web.views import BILLING_LABELS, PLAN_RENEWALS

router = APIRouter(include_in_schema=False)

PlanId = Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Method = Annotated[str, Form(max_length=64)]
Key = Annotated[str, Form(min_length=1, max_length=64)]

DONE = {
    "upgrade": "Upgraded: the new allowance is yours now.",
    "downgrade": "Downgrade scheduled for the end of the period.",
    "cancel": "Cancelled at the end of the period: then you are on the free plan.",
    "resume": "The scheduled change is undone: your plan continues.",
}


def _return_url(request: Request) -> str:
    return f"{settings_of(request).web_public_url.rstrip('/')}/checkout/return"


async def render_plans(
    request: Request,
    s: Session,
    currency: str | None = None,
    *,
    status: int = 200,
    done: str | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    api = api_for(request, s)
    catalog = await api.plans()
    sub = await api.subscription()
    if isinstance(catalog, Unavailable) or isinstance(sub, Unavailable):
        missing = catalog if isinstance(catalog, Unavailable) else sub
        return render(request, "plans.html", nav="plans", unavailable=missing)
    plans: list[dict[str, Any]] = catalog["plans"]
    # Subscribed, the plan's currency is fixed; on the free plan the person chooses one.
    currency = (sub["currency"] or currency or "CNY").upper()
    currencies = sorted({p["currency"] for plan in plans for p in plan["prices"]})
    methods = [
        m for m in await api.payment_methods(currency) if m["payment_method"] in PLAN_RENEWALS
    ]
    names = {p["id"]: p["name"] for p in plans}
    return render(
        request,
        "plans.html",
        status=status,
        nav="plans",
        unavailable=None,
        sub=sub,
        plans=[
            {**p, "price_here": next((x for x in p["prices"] if x["currency"] == currency), None)}
            for p in plans
        ],
        names=names,
        current=next((p for p in plans if p["id"] == sub["plan"]["id"]), None),
        currency=currency,
        currencies=currencies,
        methods=methods,
        renewals=PLAN_RENEWALS,
        billing_label=BILLING_LABELS.get(sub["billing"], sub["billing"]),
        done=DONE.get(done or ""),
        errors=errors or {},
        idempotency_key=str(uuid.uuid4()),
    )


@router.get("/plans")
async def plans_page(
    request: Request,
    s: SessionDep,
    currency: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3,4}$")] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    return await render_plans(request, s, currency, done=done)


async def _refused(
    request: Request, s: Session, exc: ApiError, where: str, currency: str | None = None
) -> HTMLResponse:
    if not 400 <= exc.status < 500:
        raise exc
    return await render_plans(request, s, currency, status=exc.status, errors={where: exc.message})


def _next_step(result: dict[str, Any], done: str) -> Response:
    """To the order's pay page when there is one to pay, else back to the plans page."""
    order = result.get("order")
    if order and order["status"] == "pending":
        return see_other(f"/orders/{order['order_id']}/pay")
    return see_other(f"/plans?done={done}")


@router.post("/plans/subscribe")
async def subscribe(
    request: Request,
    s: SessionDep,
    plan_id: PlanId,
    currency: Annotated[str, Form(pattern=r"^[A-Za-z]{3,4}$")],
    idempotency_key: Key,
    payment_method: Method = "",
) -> Response:
    if not payment_method:
        return await render_plans(
            request,
            s,
            currency,
            status=422,
            errors={plan_id: "Choose a payment method."},
        )
    try:
        opened = await api_for(request, s).subscribe(
            plan_id=plan_id,
            payment_method=payment_method,
            currency=currency.upper(),
            return_url=_return_url(request),
            idempotency_key=f"web-plan-{s.user_id}-{idempotency_key}",
        )
    except ApiError as exc:
        return await _refused(request, s, exc, plan_id, currency)
    return _next_step(opened, "upgrade")


@router.post("/plans/preview")
async def preview(request: Request, s: SessionDep, plan_id: PlanId) -> Response:
    """What changing to `plan_id` costs and grants now, to confirm (the preview is pinned)."""
    api = api_for(request, s)
    try:
        p = await api.preview_change(plan_id)
    except ApiError as exc:
        return await _refused(request, s, exc, plan_id)
    sub = await api.subscription()
    catalog = await api.plans()
    if isinstance(sub, Unavailable) or isinstance(catalog, Unavailable):
        raise PageError(404, "Not found", "Plans are not sold here.")
    methods = []
    if sub["billing"] == "manual":
        # An upgrade of a plan renewed by order is paid by an order too: the same methods.
        methods = [
            m
            for m in await api.payment_methods(sub["currency"] or "CNY")
            if m["payment_method"] in PLAN_RENEWALS and m["payment_method"] != "stripe_checkout"
        ]
    return render(
        request,
        "plan_change.html",
        nav="plans",
        preview=p,
        sub=sub,
        names={x["id"]: x["name"] for x in catalog["plans"]},
        methods=methods,
        idempotency_key=str(uuid.uuid4()),
    )


@router.post("/plans/change")
async def change(
    request: Request,
    s: SessionDep,
    plan_id: PlanId,
    idempotency_key: Key,
    preview: Annotated[str, Form(max_length=4096)] = "",
    payment_method: Method = "",
) -> Response:
    try:
        changed = await api_for(request, s).change_plan(
            plan_id=plan_id,
            preview=preview or None,
            payment_method=payment_method or None,
            return_url=_return_url(request),
            idempotency_key=f"web-plan-{s.user_id}-{idempotency_key}",
        )
    except ApiError as exc:
        return await _refused(request, s, exc, plan_id)
    return _next_step(changed, str(changed["change"]))


@router.post("/plans/cancel")
async def cancel(request: Request, s: SessionDep) -> Response:
    try:
        await api_for(request, s).cancel_plan()
    except ApiError as exc:
        return await _refused(request, s, exc, "current")
    return see_other("/plans?done=cancel")


@router.post("/plans/resume")
async def resume(request: Request, s: SessionDep) -> Response:
    try:
        await api_for(request, s).resume_plan()
    except ApiError as exc:
        return await _refused(request, s, exc, "current")
    return see_other("/plans?done=resume")


@router.post("/plans/renew")
async def renew(
    request: Request, s: SessionDep, idempotency_key: Key, payment_method: Method = ""
) -> Response:
    """The order for the next period of a plan renewed by order (Alipay, WeChat Pay, USDT)."""
    try:
        opened = await api_for(request, s).renew_plan(
            payment_method=payment_method or None,
            return_url=_return_url(request),
            idempotency_key=f"web-plan-{s.user_id}-{idempotency_key}",
        )
    except ApiError as exc:
        return await _refused(request, s, exc, "current")
    return _next_step(opened, "renew")
