"""Sandbox only: sign in as anyone, and complete a payment the way its provider would.

Tokens are minted with the services' JWT secret (the real sign-in is the product's). A payment
is completed by devtools' payers: a signed Stripe webhook, the Alipay or WeChat Pay buyer
scanning the QR code at the local fake, or a wallet sending the exact USDT to the local chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from paystream.devtools.payers import pay
from paystream.devtools.sandbox import Sandbox
from paystream.shared.auth import make_token
from paystream.web.settings import WebSettings

USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class SandboxOff(Exception):
    """Sandbox features asked for while the app is not in sandbox mode."""


def mint_token(s: WebSettings, user_id: str, *, admin: bool) -> str:
    if not s.web_sandbox:
        raise SandboxOff("sign-in as is a sandbox feature")
    return make_token(
        user_id,
        s.jwt_secret.get_secret_value(),
        role="admin" if admin else None,
        ttl_s=8 * 3600,
    )


async def complete_payment(s: WebSettings, http: httpx.AsyncClient, order: dict[str, Any]) -> str:
    """Pay `order` as its provider's payer would; returns what happened, in a sentence."""
    if not s.web_sandbox:
        raise SandboxOff("completing a payment is a sandbox feature")
    sandbox = Sandbox.create(s.web_sandbox_run_dir, s.web_sandbox_port_base)
    return await pay(http, order, sandbox=sandbox, stripe_webhook_secret=s.first_webhook_secret())


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What the bank's check ended in: Stripe's PaymentIntent status, and its error if any."""

    status: str
    message: str | None


async def confirm_recharge(
    s: WebSettings, http: httpx.AsyncClient, intent_id: str, *, approve: bool
) -> Confirmed:
    """Do what Stripe.js and the buyer's bank do for an auto-recharge that needs 3-D Secure: confirm
    the PaymentIntent on-session with the card it was charged to, then pass (or fail) the bank's
    check at the local fake Stripe. Its signed webhook then reaches webhook-ingest as Stripe's
    would, so paystream learns the outcome by its normal path."""
    if not s.web_sandbox:
        raise SandboxOff("confirming a payment is a sandbox feature")
    base = Sandbox.create(s.web_sandbox_run_dir, s.web_sandbox_port_base).url("fake-stripe")
    # The fake takes any test key; Stripe.js would use the publishable key and client_secret.
    headers = {"Authorization": "Bearer sk_test_sandbox"}
    url = f"{base}/v1/payment_intents/{intent_id}"
    intent = (await http.get(url, headers=headers)).raise_for_status().json()
    if intent["status"] in ("requires_payment_method", "requires_confirmation"):
        error = intent.get("last_payment_error") or {}
        method = intent.get("payment_method") or (error.get("payment_method") or {}).get("id")
        r = await http.post(f"{url}/confirm", data={"payment_method": method}, headers=headers)
        if r.status_code == 402:  # declined before any check: Stripe's card error
            return Confirmed("requires_payment_method", r.json()["error"]["message"])
        intent = r.raise_for_status().json()
    if intent["status"] == "requires_action":
        step = "complete" if approve else "fail"
        (await http.post(f"{base}/_fake/3ds/{intent_id}/{step}")).raise_for_status()
        intent = (await http.get(url, headers=headers)).raise_for_status().json()
    error = intent.get("last_payment_error") or {}
    return Confirmed(intent["status"], error.get("message"))
