"""Stripe's documented webhook signing scheme, for whoever plays Stripe: tests, the demo and the
benchmark load generator. webhook-ingest verifies with its own implementation.

Stripe signs `"<t>.<raw body>"` with HMAC-SHA256 keyed by the whole endpoint secret (the
`whsec_...` string as UTF-8 bytes) and sends `Stripe-Signature: t=<unix seconds>,v1=<hex>`.
"""

from __future__ import annotations

import hashlib
import hmac


def stripe_v1_signature(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), b"%d." % timestamp, hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def sign_stripe_payload(body: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe would send for `body` signed at `timestamp`."""
    return f"t={timestamp},v1={stripe_v1_signature(body, secret, timestamp)}"
