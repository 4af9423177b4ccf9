"""Build the webhook events Stripe sends for a paid Checkout Session or PaymentIntent and for a
refund, in Stripe's payload shape.

The demo, the end-to-end tests and the benchmarks play Stripe with these: the order facts ride in
`metadata` exactly as checkout put them on the session (and on a refund: `order_id`, `user_id`,
`refund_id`), and the body is signed by `paystream.devtools.fakes.signing` the way Stripe signs.

One refund is announced by several events: `refund.created` / `refund.updated` (and the older
`charge.refund.updated`) carry the Refund, `charge.refunded` carries the Charge, whose
`refunds.data` lists its refunds only for API versions before 2022-11-15 (`with_refunds_list`).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

API_VERSION = "2025-09-30.clover"


def _event(
    event_type: str,
    obj: dict[str, Any],
    event_id: str | None = None,
    *,
    api_version: str = API_VERSION,
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": api_version,
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


# The last API version whose Charge lists its refunds in webhooks (`refunds.data`).
API_VERSION_WITH_REFUNDS_LIST = "2022-08-01"


def refund_metadata(*, order_id: str, user_id: str, refund_id: str) -> dict[str, str]:
    """What checkout puts on a refund it asks Stripe for."""
    return {"order_id": order_id, "user_id": user_id, "refund_id": refund_id}


def refund_object(
    *,
    amount_minor: int,
    currency: str,
    status: str = "succeeded",
    refund_id: str | None = None,
    charge_id: str | None = None,
    payment_intent_id: str | None = None,
    metadata: dict[str, str] | None = None,
    reason: str | None = None,
    failure_reason: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """A Refund as the API returns it. `metadata` is empty for a refund made in the dashboard."""
    refund: dict[str, Any] = {
        "id": refund_id or f"re_{secrets.token_hex(12)}",
        "object": "refund",
        "amount": amount_minor,
        "balance_transaction": f"txn_{secrets.token_hex(12)}",
        "charge": charge_id or f"ch_{secrets.token_hex(12)}",
        "created": created or int(time.time()),
        "currency": currency.lower(),
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": dict(metadata or {}),
        "payment_intent": payment_intent_id,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }
    if status in ("failed", "canceled"):
        refund["failure_reason"] = failure_reason or "unknown"
        refund["failure_balance_transaction"] = f"txn_{secrets.token_hex(12)}"
    return refund


def refund_event(
    event_type: str,
    refund: dict[str, Any],
    *,
    event_id: str | None = None,
) -> dict[str, Any]:
    """`refund.created`, `refund.updated`, `refund.failed` or `charge.refund.updated`."""
    return _event(event_type, refund, event_id)


def refund_updated(refund: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return refund_event("refund.updated", refund, event_id=event_id)


def charge_refunded(
    *,
    charge_amount_minor: int,
    currency: str,
    refunds: list[dict[str, Any]],
    charge_id: str | None = None,
    payment_intent_id: str | None = None,
    metadata: dict[str, str] | None = None,
    with_refunds_list: bool = True,
    event_id: str | None = None,
) -> dict[str, Any]:
    """`charge.refunded`: the Charge after `refunds` (Refund objects, newest first, as Stripe
    lists them). `metadata` is the charge's: Stripe copies the PaymentIntent's onto it.

    `with_refunds_list=False` gives what API versions from 2022-11-15 send: no `refunds` at all.
    """
    refunded = sum(r["amount"] for r in refunds if r["status"] in ("succeeded", "pending"))
    cid = charge_id or (refunds[0]["charge"] if refunds else f"ch_{secrets.token_hex(12)}")
    charge: dict[str, Any] = {
        "id": cid,
        "object": "charge",
        "amount": charge_amount_minor,
        "amount_captured": charge_amount_minor,
        "amount_refunded": refunded,
        "balance_transaction": f"txn_{secrets.token_hex(12)}",
        "captured": True,
        "created": int(time.time()),
        "currency": currency.lower(),
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "paid": True,
        "payment_intent": payment_intent_id,
        "payment_method": f"pm_{secrets.token_hex(12)}",
        "refunded": refunded >= charge_amount_minor,
        "status": "succeeded",
    }
    if with_refunds_list:
        charge["refunds"] = {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "total_count": len(refunds),
            "url": f"/v1/charges/{cid}/refunds",
        }
        return _event(
            "charge.refunded", charge, event_id, api_version=API_VERSION_WITH_REFUNDS_LIST
        )
    return _event("charge.refunded", charge, event_id)


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)
