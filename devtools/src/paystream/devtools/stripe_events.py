"""Build the webhook events Stripe sends for a paid Checkout Session, in Stripe's payload shape.

The demo, the end-to-end tests and the benchmarks play Stripe with these: the order facts ride in
`metadata` exactly as checkout put them on the session, and the body is signed by
`paystream.shared.stripe_signing` the way Stripe signs.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

API_VERSION = "2025-09-30.clover"


def _event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }


def checkout_session_completed(
    *,
    order_id: str,
    user_id: str,
    credits: int,
    amount_minor: int,
    currency: str,
    package_id: str = "standard",
    session_id: str | None = None,
    payment_intent_id: str | None = None,
    payment_status: str = "paid",
    event_id: str | None = None,
    event_type: str = "checkout.session.completed",
) -> dict[str, Any]:
    metadata = {
        "order_id": order_id,
        "user_id": user_id,
        "credits": str(credits),
        "package_id": package_id,
    }
    session = {
        "id": session_id or f"cs_test_{secrets.token_hex(16)}",
        "object": "checkout.session",
        "amount_subtotal": amount_minor,
        "amount_total": amount_minor,
        "client_reference_id": order_id,
        "currency": currency.lower(),
        "customer": None,
        "livemode": False,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": payment_intent_id or f"pi_{secrets.token_hex(12)}",
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": "complete",
        "success_url": "https://example.com/success",
        "url": None,
    }
    return _event(event_type, session, event_id)


def payment_intent_succeeded(
    *,
    order_id: str,
    user_id: str,
    credits: int,
    amount_minor: int,
    currency: str,
    package_id: str = "standard",
    payment_intent_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    pi = {
        "id": payment_intent_id or f"pi_{secrets.token_hex(12)}",
        "object": "payment_intent",
        "amount": amount_minor,
        "amount_received": amount_minor,
        "currency": currency.lower(),
        "livemode": False,
        "metadata": {
            "order_id": order_id,
            "user_id": user_id,
            "credits": str(credits),
            "package_id": package_id,
        },
        "status": "succeeded",
    }
    return _event("payment_intent.succeeded", pi, event_id)


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)
