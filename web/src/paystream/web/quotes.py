"""Buying a quantity of units or a custom amount: checkout quotes it, the person sees the quote
(lines, what it grants, until when it holds), chooses a payment method, and the order is made
from the quote's signed token. The page never computes a price; a refusal from checkout (a
quantity out of range, an amount off its step, an expired or altered quote) is shown next to
the field it is about, on the buy page, with what was typed kept.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from paystream.web.api import ApiError
from paystream.web.app import (
    Session,
    SessionDep,
    api_for,
    render,
    render_buy,
    see_other,
    settings_of,
)

router = APIRouter(include_in_schema=False)

Kind = Literal["quantity", "amount"]
ProductId = Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Currency = Annotated[str, Form(pattern=r"^[A-Za-z]{3,4}$")]
# What was typed, kept as typed (checkout judges it): bounded, never parsed as a float.
Typed = Annotated[str, Form(max_length=32)]

WHOLE = re.compile(r"^\s*-?\d{1,9}\s*$")
DECIMAL = re.compile(r"^\s*\d{1,12}(\.\d{1,6})?\s*$")

# Checkout's refusals said the way a buyer reads them (its message is kept when not listed).
SAID = {
    "quote_expired": "This price has expired; get a new price.",
    "quote_invalid": "This price is not valid (changed, or not yours); get a new price.",
    "validation_error": "Enter a whole number of units, or an amount like 25.00.",
}


def field_id(kind: str, product_id: str) -> str:
    """The id of a product's quantity or amount field (the template uses the same)."""
    return f"{kind}-{product_id}"


@dataclass(frozen=True, slots=True)
class Ask:
    """What the person asked a price for, as typed (kept to show it again with a refusal)."""

    kind: str
    product_id: str
    currency: str
    typed: str


async def _refused(
    request: Request, s: Session, ask: Ask, message: str, status: int = 422
) -> HTMLResponse:
    fid = field_id(ask.kind, ask.product_id)
    return await render_buy(
        request,
        s,
        ask.currency,
        status=status,
        chosen={fid: ask.typed},
        field_errors={fid: message},
    )


@router.post("/buy/quote")
async def quote(
    request: Request,
    s: SessionDep,
    kind: Annotated[Kind, Form()],
    product_id: ProductId,
    currency: Currency,
    value: Typed = "",
) -> Response:
    """Ask checkout for the price of `value` units (kind quantity) or of the amount `value`
    (kind amount), and show the quote with the payment methods for its currency."""
    currency = currency.upper()
    api = api_for(request, s)
    ask = Ask(kind, product_id, currency, value.strip())
    if kind == "quantity" and not WHOLE.match(value):
        return await _refused(request, s, ask, message="Enter a whole number of units.")
    if kind == "amount" and not DECIMAL.match(value):
        return await _refused(request, s, ask, message="Enter an amount like 25.00.")
    try:
        quoted = await api.quote(
            product_id=product_id,
            currency=currency,
            quantity=int(value) if kind == "quantity" else None,
            amount=value.strip() if kind == "amount" else None,
        )
    except ApiError as exc:
        if 400 <= exc.status < 500:
            message = SAID.get(exc.code, exc.message)
            return await _refused(request, s, ask, message=message, status=exc.status)
        raise
    return render(
        request,
        "quote.html",
        nav="buy",
        quote=quoted,
        ask=ask,
        methods=await api.payment_methods(quoted["amount"]["currency"]),
        idempotency_key=str(uuid.uuid4()),
    )


@router.post("/buy/quote/order")
async def order_from_quote(
    request: Request,
    s: SessionDep,
    kind: Annotated[Kind, Form()],
    product_id: ProductId,
    currency: Currency,
    quote: Annotated[str, Form(min_length=1, max_length=4096)],
    idempotency_key: Annotated[str, Form(min_length=1, max_length=64)],
    value: Typed = "",
    payment_method: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The order, made from the quote's token: checkout charges exactly what it quoted."""
    currency = currency.upper()
    ask = Ask(kind, product_id, currency, value.strip())
    if not payment_method:
        return await _refused(
            request, s, ask, message="Get the price again and choose a payment method."
        )
    base = settings_of(request).web_public_url.rstrip("/")
    try:
        order = await api_for(request, s).create_order(
            quote=quote,
            payment_method=payment_method,
            currency=currency,
            return_url=f"{base}/checkout/return",
            idempotency_key=f"web-{s.user_id}-{idempotency_key}",
        )
    except ApiError as exc:
        if 400 <= exc.status < 500:
            message = SAID.get(exc.code, exc.message)
            return await _refused(request, s, ask, message=message, status=exc.status)
        raise
    return see_other(f"/orders/{order['order_id']}/pay")
