"""The buyer's saved cards and auto-recharge (issue 12's APIs, issue 13's page).

Cards: listed as checkout has them (brand, last 4, expiry, the default); "make default" and
"remove" are forms posted here and passed on. Adding a card is Stripe.js confirming checkout's
SetupIntent, so it needs the publishable key; without it the page says so.

Auto-recharge: one form per unit. What was typed is sent as typed (a whole number when it is
one): checkout is the one judge, and its refusal is shown next to the field it names.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from paystream.web.api import ApiError
from paystream.web.app import Session, SessionDep, api_for, render, see_other, settings_of

router = APIRouter(include_in_schema=False)

MethodId = Annotated[str, Form(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_]+$")]
Unit = Annotated[str, Form(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
Typed = Annotated[str, Form(max_length=32)]
WHOLE = re.compile(r"^\s*-?\d{1,15}\s*$")

# The form's fields, by the name checkout's validation_error gives them in `loc`.
FIELDS = {
    "threshold": "threshold",
    "package_id": "purchase",
    "product_id": "purchase",
    "quantity": "quantity",
    "currency": "currency",
    "payment_method_id": "payment_method_id",
    "monthly_cap": "monthly_cap",
    "value": "monthly_cap",
    "daily_count_cap": "daily_count_cap",
    "consent_text": "consent",
}
# Checkout's refusal codes that are about one field.
CODE_FIELDS = {
    "unknown_package": "purchase",
    "unknown_product": "purchase",
    "quantity_out_of_range": "quantity",
    "currency_not_chargeable": "currency",
    "cap_below_amount": "monthly_cap",
    "auto_recharge_method_refused": "payment_method_id",
    "payment_method_not_found": "payment_method_id",
    "payment_method_required": "payment_method_id",
}


def consent_text(unit: str) -> str:
    """What the buyer agrees to by ticking the box; checkout records it with the time."""
    return (
        f"I allow paystream to charge my saved card, without asking me each time, when my "
        f"{unit} balance drops below the threshold, within the monthly cap and the daily "
        f"number of charges set here."
    )


def field_id(unit: str, field: str) -> str:
    """The id of one unit's form field (the template uses the same)."""
    return f"ar-{unit}-{field}"


def _whole(typed: str) -> int | str:
    return int(typed) if WHOLE.match(typed) else typed.strip()


async def render_cards(
    request: Request,
    s: Session,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
    typed: dict[str, dict[str, Any]] | None = None,
    field_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    api = api_for(request, s)
    cards = await api.saved_cards()
    recharge = await api.auto_recharge()
    packages = await api.packages()
    products = [p for p in await api.products() if any(x["tiers"] for x in p["prices"])]
    settings = {item["unit"]: item for item in recharge["items"]}
    units = sorted({"credits", *settings})
    currencies = sorted({p["currency"] for pkg in packages for p in pkg["prices"]})
    # Each unit's form: what was just typed, else checkout's setting, else nothing.
    forms = {u: (typed or {}).get(u) or _as_form(settings.get(u)) for u in units}
    return render(
        request,
        "cards.html",
        status=status,
        nav="cards",
        cards=cards,
        settings=settings,
        attempts=recharge["attempts"][:10],
        units=units,
        forms=forms,
        packages=packages,
        products=products,
        currencies=currencies,
        consent_text=consent_text,
        field_id=field_id,
        notice=notice,
        error=error,
        field_errors=field_errors or {},
        stripe_publishable_key=settings_of(request).stripe_publishable_key,
        idempotency_key=str(uuid.uuid4()),
    )


def _as_form(setting: dict[str, Any] | None) -> dict[str, Any]:
    if setting is None:
        return {"enabled": True, "currency": "USD"}
    purchase = (
        f"package:{setting['package_id']}"
        if setting["package_id"]
        else f"product:{setting['product_id']}"
    )
    return {
        "enabled": setting["enabled"],
        "threshold": setting["threshold"],
        "purchase": purchase,
        "quantity": setting["quantity"] or "",
        "currency": setting["currency"],
        "payment_method_id": setting["payment_method_id"] or "",
        "monthly_cap": setting["monthly_cap"]["value"],
        "daily_count_cap": setting["daily_count_cap"],
        "consent": True,
    }


@router.get("/cards", response_model=None)
async def cards_page(
    request: Request, s: SessionDep, done: str = "", order_id: uuid.UUID | None = None
) -> Response:
    # Checkout's link for a recharge the bank wants confirmed (`auto_recharge_action_url`).
    if order_id is not None:
        return see_other(f"/cards/recharge/{order_id}")
    notice = {
        "default": "That card is now your default.",
        "removed": "The card was removed.",
        "added": "Card saved: it is listed once Stripe tells paystream (a moment).",
        "saved": "Auto-recharge saved.",
        "triggered": "Recharge started: it shows below, and the credits follow the payment.",
    }.get(done)
    return await render_cards(request, s, notice=notice)


async def _refused(request: Request, s: Session, exc: ApiError) -> Response:
    """Checkout's 4xx, shown on the page; anything else is the app's error page."""
    if not 400 <= exc.status < 500 or exc.status == 401:
        raise exc
    return await render_cards(request, s, status=exc.status, error=exc.message)


async def _then(request: Request, s: Session, call: Awaitable[Any], done: str) -> Response:
    """Checkout's answer to a button: back to the page saying so, or its refusal on it."""
    try:
        await call
    except ApiError as exc:
        return await _refused(request, s, exc)
    return see_other(f"/cards?done={done}")


@router.post("/cards/default")
async def make_default(request: Request, s: SessionDep, method_id: MethodId) -> Response:
    return await _then(request, s, api_for(request, s).make_default_card(method_id), "default")


@router.post("/cards/remove")
async def remove(request: Request, s: SessionDep, method_id: MethodId) -> Response:
    return await _then(request, s, api_for(request, s).remove_card(method_id), "removed")


@router.post("/cards/setup")
async def start_setup(request: Request, s: SessionDep) -> Response:
    """The SetupIntent's client secret, for the page's Stripe.js (same origin, the cookie)."""
    try:
        started = await api_for(request, s).start_card_setup()
    except ApiError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status)
    return JSONResponse(
        {"client_secret": started["client_secret"]}, headers={"Cache-Control": "no-store"}
    )


@router.post("/cards/auto-recharge")
async def save_auto_recharge(
    request: Request,
    s: SessionDep,
    unit: Unit,
    threshold: Typed = "",
    purchase: Annotated[str, Form(max_length=80)] = "",
    quantity: Typed = "",
    currency: Annotated[str, Form(max_length=8)] = "",
    payment_method_id: Annotated[str, Form(max_length=255)] = "",
    monthly_cap: Typed = "",
    daily_count_cap: Typed = "",
    enabled: Annotated[bool, Form()] = False,
    consent: Annotated[bool, Form()] = False,
) -> Response:
    typed = {
        "enabled": enabled,
        "threshold": threshold,
        "purchase": purchase,
        "quantity": quantity,
        "currency": currency,
        "payment_method_id": payment_method_id,
        "monthly_cap": monthly_cap,
        "daily_count_cap": daily_count_cap,
        "consent": consent,
    }

    async def again(status: int, errors: dict[str, str], error: str | None = None) -> Response:
        return await render_cards(
            request,
            s,
            status=status,
            error=error,
            typed={unit: typed},
            field_errors={field_id(unit, f): m for f, m in errors.items()},
        )

    if not consent:
        return await again(422, {"consent": "Tick the box to agree to these charges."})
    kind, _, what = purchase.partition(":")
    body: dict[str, Any] = {
        "enabled": enabled,
        "unit": unit,
        "threshold": _whole(threshold),
        "currency": currency,
        "monthly_cap": {"value": monthly_cap.strip(), "currency": currency},
        "daily_count_cap": _whole(daily_count_cap),
        "consent_text": consent_text(unit),
    }
    if kind == "product":
        body |= {"product_id": what, "quantity": _whole(quantity)}
    else:
        body["package_id"] = what
    if payment_method_id:
        body["payment_method_id"] = payment_method_id
    try:
        await api_for(request, s).set_auto_recharge(body)
    except ApiError as exc:
        if not 400 <= exc.status < 500 or exc.status == 401:
            raise
        return await again(exc.status, _field_errors(exc), exc.message)
    return see_other("/cards?done=saved")


def _field_errors(exc: ApiError) -> dict[str, str]:
    """Checkout's refusal, by the form field it is about (none when it names no field)."""
    if exc.code in CODE_FIELDS:
        return {CODE_FIELDS[exc.code]: exc.message}
    out: dict[str, str] = {}
    for d in exc.details:
        names = [str(x) for x in d.get("loc", []) if str(x) in FIELDS]
        if names:
            out.setdefault(FIELDS[names[-1]], str(d.get("msg", exc.message)))
    return out


@router.post("/cards/auto-recharge/trigger")
async def trigger(
    request: Request,
    s: SessionDep,
    unit: Unit,
    idempotency_key: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:
    key = f"web-{s.user_id}-{idempotency_key}"
    return await _then(
        request, s, api_for(request, s).trigger_auto_recharge(unit, key), "triggered"
    )
