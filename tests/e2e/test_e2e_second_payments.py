"""A second payment for an already paid order, end to end (issue 15): the order is paid through
Stripe's signed notification, then a second PaymentIntent for the same order is confirmed on the
stateful fake Stripe, whose webhook reaches webhook-ingest (and is delivered again). Checkout
records it and, by the default policy, refunds it once through Stripe; the credits are granted
once, and the ledger and invoicing leave the order's grant and invoice as they were."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from paystream.devtools.client import WEBHOOK_SECRETS, Harness
from paystream.devtools.payers import send_stripe_event, stripe_paid_event

pytestmark = pytest.mark.e2e

SK = {"Authorization": "Bearer sk_test_123"}


async def _refunds(h: Harness, order_id: str) -> list[dict[str, Any]]:
    r = await h.http.get(
        f"{h.urls['checkout']}/v1/refunds",
        params={"order_id": order_id},
        headers=h.auth("e2e-admin", admin=True),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_second_payment_is_refunded_once_and_changes_no_credits_or_invoice(
    harness: Harness, fake: httpx.AsyncClient
) -> None:
    h, user = harness, f"user-{uuid.uuid4().hex[:12]}"
    order = await h.create_order(user, "standard", method="stripe_checkout", currency="CNY")
    oid = order["order_id"]
    r = await send_stripe_event(
        h.http, h.urls["webhook-ingest"], stripe_paid_event(order), WEBHOOK_SECRETS[0]
    )
    assert r.status_code == 200, r.text

    async def settled() -> bool:
        o = (await h.order(user, oid)).json()
        return (
            o["status"] == "paid"
            and await h.balance(user) == 1100
            and len(await h.invoices(user, oid)) == 1
        )

    await h.eventually(settled, timeout_s=45)

    # The payer pays the same order again: a second PaymentIntent naming it, confirmed.
    r = await fake.post(
        "/v1/payment_intents",
        data={
            "amount": "10000",
            "currency": "cny",
            "payment_method": "pm_card_visa",
            "confirm": "true",
            "metadata[order_id]": oid,
            "metadata[user_id]": user,
            "metadata[credits]": "1100",
            "metadata[package_id]": "standard",
        },
        headers=SK,
    )
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["status"] == "succeeded"
    pi = second["id"]

    events = await fake.get("/v1/events", params={"type": "payment_intent.succeeded"}, headers=SK)
    assert events.status_code == 200, events.text
    [event] = [e for e in events.json()["data"] if e["data"]["object"]["id"] == pi]

    async def delivered() -> dict[str, Any] | None:
        got = await fake.get("/_fake/deliveries", params={"type": "payment_intent.succeeded"})
        mine = [d for d in got.json() if d["delivered"] and d["event"] == event["id"]]
        return mine[0] if mine else None

    # Signed with webhook-ingest's secret and accepted at the first attempt.
    assert [a["status"] for a in (await h.eventually(delivered, timeout_s=30))["attempts"]] == [200]

    async def refunded() -> list[dict[str, Any]] | None:
        items = await _refunds(h, oid)
        return items if any(x["status"] == "succeeded" for x in items) else None

    await h.eventually(refunded, timeout_s=45)

    # Stripe delivers the same event again (a retry): nothing more is refunded or granted.
    r = await send_stripe_event(h.http, h.urls["webhook-ingest"], event, WEBHOOK_SECRETS[0])
    assert r.status_code == 200, r.text
    await asyncio.sleep(3.0)  # let any wrongly repeated effect surface before asserting "once"

    [refund] = await _refunds(h, oid)
    assert (refund["status"], refund["provider_payment_id"]) == ("succeeded", pi)
    assert refund["amount"] == {"value": "100.00", "currency": "CNY"}

    # The ledger received the refund and left the grant (recorded, settled `rejected`, why).
    async def ledger_settled() -> dict[str, Any] | None:
        r = await h.http.get(
            f"{h.urls['ledger']}/v1/admin/refunds",
            params={"user_id": user},
            headers=h.auth("e2e-admin", admin=True),
        )
        items = r.json()["items"]
        return items[0] if items else None

    ledger_refund = await h.eventually(ledger_settled, timeout_s=30)
    assert ledger_refund["status"] == "rejected"
    assert pi in ledger_refund["rejection"]

    # The order, the credits and the invoice are as the first payment left them.
    after = (await h.order(user, oid)).json()
    assert (after["status"], after["refunded"]) == ("paid", {"value": "0.00", "currency": "CNY"})
    assert await h.balance(user) == 1100
    [invoice] = await h.invoices(user, oid)
    assert (invoice["status"], invoice["provider_payment_id"] != pi) == ("paid", True)
    assert await h.credit_notes(user, oid) == []

    # An operator sees what happened.
    r = await h.http.get(
        f"{h.urls['checkout']}/v1/admin/reviews",
        params={"order_id": oid},
        headers=h.auth("e2e-admin", admin=True),
    )
    [review] = r.json()["items"]
    assert (review["reasons"], review["provider_payment_id"]) == (["duplicate_payment"], pi)
    assert review["details"]["second_payment"]["action"] == "refund"
