"""`make demo [METHOD=...] [REFUND=...] [QUANTITY=20 | PLAN=pro]`: buy a package (or a quantity
of receives at its tier's price, or a plan) through the running stack, the way a product would,
with any payment method, and optionally refund it.

It makes a JWT for a demo user, creates an order at checkout (a real Checkout Session or
PaymentIntent at stripe-mock, a real Alipay / WeChat Pay order at their local fakes, or USDT
deposit instructions), pays it as the provider's payer would (see `payers`), then waits until the
order is paid, the ledger shows the credits and invoicing has issued the invoice. `--quantity`
asks checkout for a signed quote first and orders with it (the order charges exactly the quote);
`--plan` subscribes (the first period's order; the subscription moves to the plan once paid).
With `--refund` an admin refunds all (or part) of it: the credits go back and a credit note is
issued.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from paystream.devtools.payers import METHODS, pay
from paystream.devtools.sandbox import Sandbox
from paystream.devtools.stack import urls_for
from paystream.shared.auth import make_token

T = TypeVar("T")


async def _wait(what: str, fn: Callable[[], Awaitable[T | None]], timeout_s: float = 30.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await fn()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


async def run(
    port_base: int,
    user_id: str,
    package_id: str,
    method: str,
    currency: str | None,
    refund: str | None,
    quantity: int | None = None,
    plan: str | None = None,
) -> int:
    urls = urls_for(port_base)
    run_dir = Path(os.environ.get("PAYSTREAM_RUN_DIR", ".run/dev"))
    sandbox = Sandbox.create(run_dir, port_base)
    jwt_secret = os.environ.get(
        "PAYSTREAM_JWT_SECRET", "paystream-dev-jwt-secret-change-me-in-production"
    )
    secret = os.environ.get("PAYSTREAM_STRIPE_WEBHOOK_SECRETS", "whsec_dev_paystream")
    headers = {"Authorization": f"Bearer {make_token(user_id, jwt_secret)}"}
    admin = {"Authorization": f"Bearer {make_token('demo-admin', jwt_secret, role='admin')}"}

    async with httpx.AsyncClient(timeout=15.0) as http:

        async def balance() -> int:
            r = await http.get(f"{urls['ledger']}/v1/balance", headers=headers)
            credits: int = r.json()["credits"]
            return credits

        before = await balance()
        body: dict[str, Any] = {"package_id": package_id, "payment_method": method}
        if currency:
            body["currency"] = currency
        if quantity is not None:
            q = await http.post(
                f"{urls['checkout']}/v1/quotes",
                headers=headers,
                json={"product_id": "receives", "quantity": quantity}
                | ({"currency": currency} if currency else {}),
            )
            if q.status_code != 201:
                print(f"checkout refused the quote: {q.status_code} {q.text}", file=sys.stderr)
                return 1
            quote = q.json()
            print(
                f"0. quote for {quantity} receives: {quote['amount']['value']} "
                f"{quote['amount']['currency']} ({quote['lines'][0]['description']}), "
                f"valid until {quote['expires_at']}"
            )
            body = {"quote": quote["token"], "payment_method": method}
        path = "/v1/orders"
        if plan is not None:
            path, body = "/v1/subscriptions", {"plan_id": plan, "payment_method": method}
            if currency:
                body["currency"] = currency
        r = await http.post(
            f"{urls['checkout']}{path}",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json=body,
        )
        if r.status_code != 201:
            print(f"checkout refused the order: {r.status_code} {r.text}", file=sys.stderr)
            return 1
        order = r.json()["order"] if plan is not None else r.json()
        amount = order["amount"]
        print(
            f"1. order {order['order_id']} ({method}) created: {order['credits']} credits for "
            f"{amount['value']} {amount['currency']}"
        )
        print(f"   {_shown(order)}")
        print(f"2. {await pay(http, order, sandbox=sandbox, stripe_webhook_secret=_first(secret))}")

        async def order_now() -> dict[str, Any]:
            o = await http.get(f"{urls['checkout']}/v1/orders/{order['order_id']}", headers=headers)
            now: dict[str, Any] = o.json()
            return now

        async def paid() -> dict[str, Any] | None:
            o = await order_now()
            return o if o["status"] == "paid" else None

        async def credited() -> int | None:
            b = await balance()
            return b if b >= before + order["credits"] else None

        async def invoiced() -> dict[str, Any] | None:
            i = await http.get(
                f"{urls['invoicing']}/v1/invoices",
                headers=headers,
                params={"order_id": order["order_id"]},
            )
            items: list[dict[str, Any]] = i.json()["items"]
            return items[0] if items else None

        o = await _wait("the order to be paid", paid)
        print(f"3. order status: {o['status']}")
        after = await _wait("the credits", credited)
        print(f"4. balance of {user_id}: {after} credits (was {before})")
        inv = await _wait("the invoice", invoiced)
        print(
            f"5. invoice {inv['number']}: {inv['description']}, "
            f"{inv['amount']['value']} {inv['amount']['currency']}, {inv['status']}"
        )
        if plan is not None:

            async def subscribed() -> dict[str, Any] | None:
                s = await http.get(f"{urls['checkout']}/v1/subscription", headers=headers)
                sub: dict[str, Any] = s.json()
                return sub if sub["plan"]["id"] == plan else None

            sub = await _wait(f"the subscription to move to {plan}", subscribed)
            period = sub["current_period"]
            print(
                f"   subscription {sub['subscription_id']}: {sub['plan']['id']} "
                f"({sub['billing']}), period {period['start']} to {period['end']}"
            )
        if refund is None:
            return 0

        refund_body: dict[str, Any] = {"order_id": order["order_id"], "reason": "demo refund"}
        if refund != "all":
            refund_body["amount"] = {"value": refund, "currency": amount["currency"]}
        r = await http.post(
            f"{urls['checkout']}/v1/refunds",
            headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
            json=refund_body,
        )
        if r.status_code != 201:
            print(f"checkout refused the refund: {r.status_code} {r.text}", file=sys.stderr)
            return 1
        rf = r.json()
        print(
            f"6. refund {rf['refund_id']}: {rf['amount']['value']} {rf['amount']['currency']} "
            f"through {rf['provider']} -> {rf['status']}"
        )
        if rf["status"] == "manual":
            r = await http.post(
                f"{urls['checkout']}/v1/refunds/{rf['refund_id']}/confirm-payout",
                headers=admin,
                json={"reference": f"demo-payout-{uuid.uuid4().hex[:8]}"},
            )
            print(f"   paid out by hand and confirmed -> {r.json().get('status')}")

        async def refunded() -> dict[str, Any] | None:
            o = await order_now()
            return o if o["status"] in ("refunded", "partially_refunded") else None

        async def credit_note() -> dict[str, Any] | None:
            c = await http.get(
                f"{urls['invoicing']}/v1/credit-notes",
                headers=headers,
                params={"order_id": order["order_id"]},
            )
            items: list[dict[str, Any]] = c.json().get("items", [])
            return items[0] if items else None

        o = await _wait("the order to be refunded", refunded)
        print(f"7. order status: {o['status']} (refunded {o['refunded']['value']})")
        taken_back = await _wait(
            "the credits to be taken back", lambda: _below(balance, after), timeout_s=30
        )
        print(f"8. balance of {user_id}: {taken_back} credits (was {after})")
        note = await _wait("the credit note", credit_note)
        print(f"9. credit note {note['number']} for invoice {note['invoice_number']}")
    return 0


async def _below(balance: Callable[[], Awaitable[int]], was: int) -> int | None:
    b = await balance()
    return b if b < was else None


def _first(secrets: str) -> str:
    return secrets.split(",")[0].strip()


def _shown(order: dict[str, Any]) -> str:
    """What the frontend would show the payer for this method."""
    if order.get("deposit"):
        d = order["deposit"]
        return (
            f"send exactly {d['amount']['value']} USDT on {d['network']} to {d['address']} "
            f"before {order['expires_at']}"
        )
    if order.get("qr_code"):
        return f"QR code {order['qr_code']} (image: {order['qr_image_url']})"
    if order.get("client_secret"):
        return (
            f"PaymentIntent {order['provider_session_id']}: client_secret for Stripe.js, "
            f"methods {order['payment_method_types']}"
        )
    return f"payment page {order['payment_url']}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Buy a credit package end to end with any payment method (needs make run)."
    )
    parser.add_argument(
        "--port-base", type=int, default=int(os.environ.get("PAYSTREAM_PORT_BASE", "8000"))
    )
    parser.add_argument("--user", default="demo-user")
    parser.add_argument("--package", default="standard")
    parser.add_argument("--method", choices=METHODS, default="stripe_checkout")
    parser.add_argument(
        "--currency", default=None, help="pay in this currency (default: the method's first)"
    )
    parser.add_argument(
        "--refund",
        default=None,
        metavar="AMOUNT|all",
        help="then refund this amount (e.g. 30.00) or all of it",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--quantity", type=int, default=None, help="buy this many receives at their tier's price"
    )
    what.add_argument("--plan", default=None, help="subscribe to this plan (e.g. pro)")
    args = parser.parse_args()
    sys.exit(
        asyncio.run(
            run(
                args.port_base,
                args.user,
                args.package,
                args.method,
                args.currency,
                args.refund,
                quantity=args.quantity,
                plan=args.plan,
            )
        )
    )


if __name__ == "__main__":
    main()
