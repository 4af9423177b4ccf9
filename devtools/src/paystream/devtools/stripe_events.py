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


# --- Stripe Subscriptions ----------------------------------------------------------------------


def subscription_metadata(*, subscription_id: str, user_id: str, plan_id: str) -> dict[str, str]:
    """What checkout puts on a Stripe subscription (`subscription_data.metadata`)."""
    return {"paystream_subscription_id": subscription_id, "user_id": user_id, "plan_id": plan_id}


def invoice_object(
    *,
    amount_minor: int,
    currency: str,
    billing_reason: str,
    status: str = "paid",
    invoice_id: str | None = None,
    customer_id: str = "cus_test",
    subscription_id: str | None = None,
    subscription_metadata: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    period_start: int | None = None,
    period_end: int | None = None,
    attempt_count: int = 1,
    next_payment_attempt: int | None = None,
) -> dict[str, Any]:
    """An Invoice as Stripe's API versions from 2025-03-31 send it: the subscription and its
    metadata under `parent.subscription_details`, each line's service period under `period`.
    `metadata` is the invoice's own (checkout puts an order's facts there for an upgrade)."""
    now = int(time.time())
    start, end = period_start or now, period_end or now + 30 * 86400
    inv_id = invoice_id or f"in_{secrets.token_hex(12)}"
    paid = status == "paid"
    parent = None
    if subscription_id is not None:
        parent = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription_metadata or {}),
                "subscription": subscription_id,
            },
        }
    return {
        "id": inv_id,
        "object": "invoice",
        "amount_due": amount_minor,
        "amount_paid": amount_minor if paid else 0,
        "amount_remaining": 0 if paid else amount_minor,
        "attempt_count": attempt_count,
        "attempted": True,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": currency.lower(),
        "customer": customer_id,
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": f"il_{secrets.token_hex(12)}",
                    "object": "line_item",
                    "amount": amount_minor,
                    "currency": currency.lower(),
                    "invoice": inv_id,
                    "period": {"start": start, "end": end},
                    "parent": None
                    if subscription_id is None
                    else {
                        "type": "subscription_item_details",
                        "subscription_item_details": {
                            "subscription": subscription_id,
                            "subscription_item": f"si_{secrets.token_hex(8)}",
                            "proration": False,
                        },
                    },
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoices/{inv_id}/lines",
        },
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_payment_attempt": next_payment_attempt,
        "parent": parent,
        "period_start": start,
        "period_end": end,
        "status": status,
        "status_transitions": {"paid_at": now if paid else None, "finalized_at": now},
        "total": amount_minor,
    }


def invoice_paid(invoice: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return _event("invoice.paid", invoice, event_id)


def invoice_payment_failed(
    invoice: dict[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    return _event("invoice.payment_failed", invoice, event_id)


def subscription_object(
    *,
    subscription_id: str,
    metadata: dict[str, str],
    status: str = "active",
    customer_id: str = "cus_test",
    cancel_at_period_end: bool = False,
) -> dict[str, Any]:
    return {
        "id": subscription_id,
        "object": "subscription",
        "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": int(time.time()) if status == "canceled" else None,
        "customer": customer_id,
        "livemode": False,
        "metadata": dict(metadata),
        "status": status,
    }


def subscription_event(
    event_type: str, subscription: dict[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    """`customer.subscription.updated` or `customer.subscription.deleted`."""
    return _event(event_type, subscription, event_id)


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)
