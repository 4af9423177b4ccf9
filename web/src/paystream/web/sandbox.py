"""Sandbox only: sign in as anyone, and complete a payment the way its provider would.

Tokens are minted with the services' JWT secret (the real sign-in is the product's). A payment
is completed by devtools' payers: a signed Stripe webhook, the Alipay or WeChat Pay buyer
scanning the QR code at the local fake, or a wallet sending the exact USDT to the local chain.
"""

from __future__ import annotations

import re
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
