"""Pay an order the way each provider's payer would, against the local stack.

Used by `make demo --method ...` and by the end-to-end tests. Nothing here calls our services'
internals: Stripe's part is a signed webhook (stripe-mock sends none), the other providers' part
is their fake's control endpoint (a buyer scanning the QR code, a wallet sending USDT), after
which the fake notifies webhook-ingest (Alipay, WeChat Pay) or is polled by checkout (TronGrid),
exactly as the real provider would.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from paystream.devtools.fakes.signing import sign_stripe_payload
from paystream.devtools.sandbox import USDT_DEPOSIT_ADDRESS, Sandbox
from paystream.devtools.stripe_events import (
    checkout_session_completed,
    encode,
    invoice_object,
    invoice_paid,
    invoice_payment_failed,
    payment_intent_succeeded,
    subscription_metadata,
)
from paystream.shared.money import Money

METHODS = (
    "stripe_checkout",
    "stripe_payment_intent",
    "alipay_qr",
    "alipay_page",
    "wechat_pay_native",
    "usdt_trc20",
)


def stripe_paid_event(order: dict[str, Any]) -> dict[str, Any]:
    """The Stripe event that says this order was paid (its method decides which)."""
    amount = Money.parse(order["amount"]["value"], order["amount"]["currency"])
    facts: dict[str, Any] = {
        "order_id": order["order_id"],
        "user_id": order["user_id"],
        "credits": order["credits"],
        "amount_minor": amount.minor,
        "currency": amount.currency,
    }
    if order["payment_method"] == "stripe_payment_intent":
        return payment_intent_succeeded(**facts, payment_intent_id=order["provider_session_id"])
    if order["payment_method"] == "stripe_invoice":
        # A plan's upgrade charged on a Stripe invoice: the invoice names the order.
        return invoice_paid(
            invoice_object(
                amount_minor=amount.minor,
                currency=amount.currency,
                billing_reason="manual",
                invoice_id=order["provider_session_id"],
                metadata={
                    "order_id": order["order_id"],
                    "user_id": order["user_id"],
                    "credits": str(order["credits"]),
                    "package_id": order["package_id"],
                },
            )
        )
    session = checkout_session_completed(
        **facts, package_id=order["package_id"], session_id=order["provider_session_id"]
    )
    if order.get("kind") == "subscription":
        # A session that opened a Stripe subscription: paid by its first invoice, no
        # PaymentIntent of its own.
        session["data"]["object"] |= {"mode": "subscription", "payment_intent": None}
    return session


def stripe_subscription_started(
    order: dict[str, Any], subscription: dict[str, Any], *, stripe_subscription_id: str
) -> dict[str, Any]:
    """The first invoice of the Stripe subscription a plan's Checkout Session opened
    (`invoice.paid`, `subscription_create`): it tells checkout Stripe's ids."""
    amount = Money.parse(order["amount"]["value"], order["amount"]["currency"])
    period = subscription["current_period"]
    return invoice_paid(
        invoice_object(
            amount_minor=amount.minor,
            currency=amount.currency,
            billing_reason="subscription_create",
            customer_id=f"cus_{subscription['subscription_id'][:8]}",
            subscription_id=stripe_subscription_id,
            subscription_metadata=subscription_metadata(
                subscription_id=subscription["subscription_id"],
                user_id=order["user_id"],
                plan_id=order["package_id"],
            ),
            period_start=_ts(period["start"]),
            period_end=_ts(period["end"]),
        )
    )


def stripe_renewal(
    subscription: dict[str, Any],
    *,
    amount: Money,
    plan_id: str,
    paid: bool = True,
    next_payment_attempt: int | None = None,
) -> dict[str, Any]:
    """What Stripe sends when it charges (or fails to charge) a subscription's next period:
    `invoice.paid` or `invoice.payment_failed`, `subscription_cycle`."""
    period = subscription["current_period"]
    invoice = invoice_object(
        amount_minor=amount.minor,
        currency=amount.currency,
        billing_reason="subscription_cycle",
        status="paid" if paid else "open",
        customer_id=f"cus_{subscription['subscription_id'][:8]}",
        subscription_id=subscription["stripe_subscription_id"],
        subscription_metadata=subscription_metadata(
            subscription_id=subscription["subscription_id"],
            user_id=subscription["user_id"],
            plan_id=plan_id,
        ),
        period_start=_ts(period["end"]),
        next_payment_attempt=next_payment_attempt,
    )
    return invoice_paid(invoice) if paid else invoice_payment_failed(invoice)


def _ts(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


async def send_stripe_event(
    http: httpx.AsyncClient, webhook_ingest: str, event: dict[str, Any], secret: str
) -> httpx.Response:
    body = encode(event)
    return await http.post(
        f"{webhook_ingest}/webhooks/stripe",
        content=body,
        headers={
            "Stripe-Signature": sign_stripe_payload(body, secret, int(time.time())),
            "Content-Type": "application/json",
        },
    )


async def pay(
    http: httpx.AsyncClient,
    order: dict[str, Any],
    *,
    sandbox: Sandbox,
    stripe_webhook_secret: str,
    amount: str | None = None,
) -> str:
    """Pay `order` as its provider's payer would; returns a line saying what happened.

    `amount` (USDT only) sends another amount than the exact one asked (under/overpayment).
    """
    method = order["payment_method"]
    session = order["provider_session_id"]
    if method in ("stripe_checkout", "stripe_payment_intent", "stripe_invoice"):
        event = stripe_paid_event(order)
        r = await send_stripe_event(http, sandbox.webhook_ingest_url, event, stripe_webhook_secret)
        r.raise_for_status()
        return f"Stripe webhook {event['type']} {event['id']} -> {r.status_code} {r.text}"
    if method in ("alipay_qr", "alipay_page"):
        if method == "alipay_page":
            # The buyer's browser follows the signed redirect: that opens the trade at Alipay.
            (await http.get(order["payment_url"])).raise_for_status()
        r = await http.post(f"{sandbox.url('fake-alipay')}/_fake/trades/{session}/pay")
        r.raise_for_status()
        return f"Alipay buyer paid trade {session}; Alipay's notification -> {_answer(r)}"
    if method == "wechat_pay_native":
        r = await http.post(f"{sandbox.url('fake-wechatpay')}/_fake/transactions/{session}/pay")
        r.raise_for_status()
        return f"WeChat Pay buyer paid {session}; WeChat Pay's notification -> {_answer(r)}"
    if method == "usdt_trc20":
        deposit = order["deposit"]
        sent = amount or deposit["amount"]["value"]
        r = await http.post(
            f"{sandbox.url('fake-trongrid')}/_fake/transfers",
            json={"to": deposit["address"] or USDT_DEPOSIT_ADDRESS, "amount": sent},
        )
        r.raise_for_status()
        return (
            f"a wallet sent {sent} USDT to {deposit['address']} "
            f"(block {r.json().get('block_number')}); checkout's watcher picks it up once solid"
        )
    raise ValueError(f"unknown payment method {method!r}")


def _answer(r: httpx.Response) -> str:
    """What webhook-ingest answered the fake's notification (each fake reports it its way)."""
    body = r.json()
    if "notify_status" in body:  # Alipay
        return f"{body['notify_status']} {body['notify_body']!r}"
    notify = body.get("notify", {})  # WeChat Pay
    if "error" in notify:
        return f"not delivered: {notify['error']}"
    return f"{notify.get('status')} {notify.get('body')!r}"
