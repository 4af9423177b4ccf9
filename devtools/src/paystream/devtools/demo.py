"""`make demo`: buy the `standard` package through the running stack, the way a product would.

It makes a JWT for a demo user, creates an order at checkout (a real Checkout Session at
stripe-mock), plays Stripe by sending the signed `checkout.session.completed` webhook, then waits
until the order is paid, the ledger shows the credits and invoicing has issued the invoice.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from typing import Any

import httpx

from paystream.devtools.stack import urls_for
from paystream.devtools.stripe_events import checkout_session_completed, encode
from paystream.shared.auth import make_token
from paystream.shared.money import Money
from paystream.shared.stripe_signing import sign_stripe_payload


def _wait(what: str, fn: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = fn()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.2)


def run(port_base: int, user_id: str, package_id: str) -> int:
    urls = urls_for(port_base)
    jwt_secret = os.environ.get(
        "PAYSTREAM_JWT_SECRET", "paystream-dev-jwt-secret-change-me-in-production"
    )
    webhook_secret = os.environ.get("PAYSTREAM_STRIPE_WEBHOOK_SECRETS", "whsec_dev_paystream")
    webhook_secret = webhook_secret.split(",")[0].strip()
    headers = {"Authorization": f"Bearer {make_token(user_id, jwt_secret)}"}

    with httpx.Client(timeout=10.0) as http:
        before = http.get(f"{urls['ledger']}/v1/balance", headers=headers).json()["credits"]
        r = http.post(
            f"{urls['checkout']}/v1/orders",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={"package_id": package_id, "payment_method": "stripe_checkout"},
        )
        if r.status_code != 201:
            print(f"checkout refused the order: {r.status_code} {r.text}", file=sys.stderr)
            return 1
        order = r.json()
        print(
            f"1. order {order['order_id']} created: {order['credits']} credits for "
            f"{order['amount']['value']} {order['amount']['currency']}"
        )
        print(f"   Stripe Checkout Session {order['provider_session_id']}")

        amount_minor = Money.parse(order["amount"]["value"], order["amount"]["currency"]).minor
        event = checkout_session_completed(
            order_id=order["order_id"],
            user_id=user_id,
            credits=order["credits"],
            amount_minor=amount_minor,
            currency=order["amount"]["currency"],
            package_id=package_id,
            session_id=order["provider_session_id"],
        )
        body = encode(event)
        sig = sign_stripe_payload(body, webhook_secret, int(time.time()))
        r = http.post(
            f"{urls['webhook-ingest']}/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": sig, "Content-Type": "application/json"},
        )
        print(f"2. Stripe webhook {event['id']} ({event['type']}) -> {r.status_code} {r.text}")
        if r.status_code != 200:
            return 1

        def paid() -> dict[str, Any] | None:
            o = http.get(f"{urls['checkout']}/v1/orders/{order['order_id']}", headers=headers)
            return o.json() if o.json().get("status") == "paid" else None

        def credited() -> int | None:
            b = http.get(f"{urls['ledger']}/v1/balance", headers=headers).json()["credits"]
            return b if b >= before + order["credits"] else None

        def invoiced() -> dict[str, Any] | None:
            i = http.get(
                f"{urls['invoicing']}/v1/invoices",
                headers=headers,
                params={"order_id": order["order_id"]},
            ).json()["items"]
            return i[0] if i else None

        o = _wait("the order to be paid", paid)
        print(f"3. order status: {o['status']}")
        balance = _wait("the credits", credited)
        print(f"4. balance of {user_id}: {balance} credits (was {before})")
        inv = _wait("the invoice", invoiced)
        print(
            f"5. invoice {inv['number']}: {inv['description']}, "
            f"{inv['amount']['value']} {inv['amount']['currency']}, {inv['status']}"
        )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Buy a credit package end to end (needs make run)."
    )
    parser.add_argument(
        "--port-base", type=int, default=int(os.environ.get("PAYSTREAM_PORT_BASE", "8000"))
    )
    parser.add_argument("--user", default="demo-user")
    parser.add_argument("--package", default="standard")
    args = parser.parse_args()
    sys.exit(run(args.port_base, args.user, args.package))


if __name__ == "__main__":
    main()
