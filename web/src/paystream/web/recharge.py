"""Completing an auto-recharge the bank wants confirmed (3-D Secure / SCA), issue 13's page.

Checkout's `auto_recharge_action_url` (`/cards` here) gets `?order_id=`: `/cards` sends it on
to `/cards/recharge/{order_id}`, which shows the attempt and its order, mounts Stripe.js with the
order's client_secret when a publishable key is set (the browser confirms the PaymentIntent with
the card it was charged to; the bank's check runs in Stripe's modal), and in sandbox mode passes
or fails the bank's check the way the buyer would, at the local fake Stripe. Either way paystream
learns the outcome by its normal path (Stripe's webhook), and the page follows it live, the
balance too.

The page reads checkout (the order, owner only: another user's is a 404; the attempt, from the
caller's own auto-recharge list) and the ledger (the balance): no new API was needed.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from paystream.web import sandbox
from paystream.web.app import PageError, Session, SessionDep, api_for, render, settings_of
from paystream.web.views import dt

router = APIRouter(include_in_schema=False)

PAID = frozenset({"paid", "partially_refunded", "refunded"})
# States the page keeps asking about (the others are where the recharge ended).
LIVE = frozenset({"needs_confirmation", "processing"})
TITLES = {
    "needs_confirmation": "Confirm this recharge with your bank",
    "processing": "Waiting for your bank's answer",
    "paid": "Recharge confirmed and credited",
    "declined": "Your bank declined the payment",
    "failed": "Recharge failed",
    "expired": "Recharge expired",
    "cancelled": "Recharge cancelled",
}


def recharge_state(order_status: str, attempt_status: str) -> str:
    """Where a recharge that needed the buyer stands, from its order and its attempt.

    The attempt says "requires_action" until paid: the order may already read "failed" (Stripe
    announces the off-session charge that asked for authentication as a failed payment), and it
    is still the buyer's to confirm until the order expires or is cancelled."""
    if order_status in PAID or attempt_status == "succeeded":
        return "paid"
    if order_status in ("expired", "cancelled"):
        return order_status
    if attempt_status == "requires_action":
        return "needs_confirmation"
    if order_status == "failed" or attempt_status in ("failed", "skipped"):
        return "failed"
    return "processing"


def recharge_message(state: str, order: dict[str, Any], attempt: dict[str, Any]) -> str:
    """What the page says in each state, in a sentence or two."""
    what = f"{order['credits']:,} {attempt['unit']}"
    reason = order.get("failure_reason") or attempt.get("error")
    if state == "needs_confirmation":
        return (
            f"Your bank wants you to confirm this payment before it is taken: {what}. Nothing "
            "has been charged, and auto-recharge waits for you: no other recharge is made until "
            "this one is confirmed."
        )
    if state == "processing":
        return "Confirmed: waiting for your bank's answer. This page updates by itself."
    if state == "paid":
        return f"Your bank confirmed the payment: {what} are added to your balance."
    if state == "expired":
        return (
            f"The time to confirm this recharge ran out on {dt(order['expires_at'])}; nothing "
            "was charged. Auto-recharge starts again when you save its settings."
        )
    if state == "cancelled":
        return "This recharge was cancelled; nothing was charged."
    return "The payment was not taken" + (f": {reason}" if reason else "") + "."


def declined_message(message: str | None) -> str:
    """The bank's check ran and the card was declined (or the check failed)."""
    return (
        f"{message or 'The payment was declined.'} Nothing was charged. You can try again, or "
        "add another card and choose it for auto-recharge on the cards page."
    )


async def _load(request: Request, s: Session, order_id: uuid.UUID) -> dict[str, Any]:
    api = api_for(request, s)
    order = await api.order(str(order_id))  # another user's order: checkout's 404
    attempts = (await api.auto_recharge())["attempts"]
    attempt = next((a for a in attempts if a["order_id"] == str(order_id)), None)
    if attempt is None:
        raise PageError(404, "Not found", "This order is not one of your auto-recharges.")
    state = recharge_state(order["status"], attempt["status"])
    balance = next((b for b in await api.balances() if b["unit"] == attempt["unit"]), None)
    return {
        "order": order,
        "attempt": attempt,
        "state": state,
        "title": TITLES[state],
        "message": recharge_message(state, order, attempt),
        "balance": balance["available"] if balance else 0,
    }


def _page(request: Request, shown: dict[str, Any]) -> HTMLResponse:
    cfg = settings_of(request)
    return render(
        request,
        "recharge.html",
        nav="cards",
        stripe_publishable_key=cfg.stripe_publishable_key,
        sandbox=cfg.web_sandbox,
        **shown,
    )


@router.get("/cards/recharge/{order_id}")
async def recharge_page(request: Request, order_id: uuid.UUID, s: SessionDep) -> HTMLResponse:
    return _page(request, await _load(request, s, order_id))


@router.get("/cards/recharge/{order_id}/status")
async def recharge_status(request: Request, order_id: uuid.UUID, s: SessionDep) -> JSONResponse:
    """What the page polls (same origin, the session cookie)."""
    got = await _load(request, s, order_id)
    body = {k: got[k] for k in ("state", "title", "message", "balance")}
    return JSONResponse(
        body | {"live": got["state"] in LIVE},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/cards/recharge/{order_id}/sandbox")
async def sandbox_confirm(
    request: Request,
    order_id: uuid.UUID,
    s: SessionDep,
    approve: Annotated[bool, Form()] = True,
) -> Response:
    """Sandbox: confirm on-session and pass (or fail) the bank's check, as the buyer would."""
    cfg = settings_of(request)
    if not cfg.web_sandbox:
        raise PageError(404, "Not found", "This page exists only in sandbox mode.")
    got = await _load(request, s, order_id)
    intent_id = got["order"]["provider_session_id"]
    if got["state"] != "needs_confirmation" or not intent_id:
        raise PageError(409, "Nothing to confirm", got["message"])
    try:
        done = await sandbox.confirm_recharge(
            cfg, request.app.state.http, intent_id, approve=approve
        )
    except httpx.HTTPError as exc:
        raise PageError(502, "The sandbox provider failed", repr(exc)) from None
    # Succeeded (or processing): paystream hears it by Stripe's webhook; the page follows live.
    state = "processing" if done.status in ("succeeded", "processing") else "declined"
    body = {
        "state": state,
        "title": TITLES[state],
        "message": (
            recharge_message(state, got["order"], got["attempt"])
            if state == "processing"
            else declined_message(done.message)
        ),
    }
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(body, headers={"Cache-Control": "no-store"})
    return _page(request, got | body)
