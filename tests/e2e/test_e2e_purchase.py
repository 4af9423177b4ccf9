"""A credit purchase through the four running services, driven over HTTP as the frontend and
Stripe would: purchase -> paid, credited once, invoiced once."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest

from paystream.devtools.client import WEBHOOK_SECRETS, Harness
from paystream.devtools.stripe_events import encode, payment_intent_succeeded

pytestmark = pytest.mark.e2e


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _settled(h: Harness, user: str, order_id: str, credits: int) -> None:
    async def done() -> bool:
        o = (await h.order(user, order_id)).json()
        return (
            o["status"] == "paid"
            and await h.balance(user) == credits
            and len(await h.invoices(user, order_id)) == 1
        )

    await h.eventually(done)


async def test_purchase_is_paid_credited_once_and_invoiced_once(harness: Harness) -> None:
    h, user = harness, _user()
    order = await h.create_order(user, "standard")
    assert order["status"] == "pending"
    assert order["amount"] == {"value": "100.00", "currency": "CNY"}
    assert order["credits"] == 1100
    assert order["payment_url"]
    assert order["provider_session_id"]

    event = h.paid_event(order, user)
    r = await h.send_webhook(event)
    assert r.status_code == 200, r.text
    # Stripe also sends payment_intent.succeeded for the same payment: a second event, same order.
    pi = payment_intent_succeeded(
        order_id=order["order_id"],
        user_id=user,
        credits=1100,
        amount_minor=10000,
        currency="CNY",
        payment_intent_id=event["data"]["object"]["payment_intent"],
    )
    r = await h.send_webhook(pi)
    assert r.status_code == 200, r.text

    await _settled(h, user, order["order_id"], 1100)
    await asyncio.sleep(1.0)  # let any wrongly duplicated effect surface before asserting "once"
    assert await h.balance(user) == 1100
    invoices = await h.invoices(user, order["order_id"])
    assert len(invoices) == 1
    inv = invoices[0]
    assert re.fullmatch(r"INV-\d{4}-\d{6}", inv["number"])
    assert inv["amount"] == {"value": "100.00", "currency": "CNY"}
    assert inv["credits"] == 1100
    got = await h.invoice(user, inv["id"])
    assert got.status_code == 200
    assert got.json()["number"] == inv["number"]
    grants = [t for t in await h.transactions(user) if t["kind"] == "grant"]
    assert [(g["credits"], g["order_id"]) for g in grants] == [(1100, order["order_id"])]


async def test_same_webhook_three_times_and_concurrently_credits_once(harness: Harness) -> None:
    h, user = harness, _user()
    order = await h.create_order(user, "trial")
    body = encode(h.paid_event(order, user))
    for _ in range(3):
        r = await h.send_webhook(body)
        assert r.status_code == 200, r.text
    rs = await asyncio.gather(*(h.send_webhook(body) for _ in range(10)))
    assert [r.status_code for r in rs] == [200] * 10
    await _settled(h, user, order["order_id"], 500)
    await asyncio.sleep(1.0)
    assert await h.balance(user) == 500
    assert len(await h.invoices(user, order["order_id"])) == 1


async def test_previous_webhook_secret_still_accepted_during_rotation(harness: Harness) -> None:
    h, user = harness, _user()
    order = await h.create_order(user, "trial")
    r = await h.send_webhook(h.paid_event(order, user), secret=WEBHOOK_SECRETS[1])
    assert r.status_code == 200, r.text
    await _settled(h, user, order["order_id"], 500)


async def test_refused_webhooks_publish_nothing(harness: Harness) -> None:
    h, user = harness, _user()
    victim = await h.create_order(user, "premium")
    event = h.paid_event(victim, user)
    body = encode(event)

    bad_sig = await h.send_webhook(body, secret="whsec_attacker")
    stale = await h.send_webhook(body, timestamp=int(time.time()) - 305)
    future = await h.send_webhook(body, timestamp=int(time.time()) + 305)
    no_sig = await h.http.post(f"{h.urls['webhook-ingest']}/webhooks/stripe", content=body)
    tampered_body = body.replace(b'"amount_total":100000', b'"amount_total":1')
    assert tampered_body != body
    tampered = await h.send_webhook(tampered_body, signature=_sig_for(body))
    malformed = await h.send_webhook(b'{"id": "evt_x", "type": ')
    too_big = await h.send_webhook(b'{"pad": "' + b"x" * (300 * 1024) + b'"}')
    for r in (bad_sig, stale, future, no_sig, tampered, malformed):
        assert r.status_code == 400, (r.status_code, r.text)
        assert r.json()["error"]["code"]
    assert too_big.status_code == 413

    # A sentinel payment for the same user travels the same partition after the refused ones:
    # once it is applied, anything the refused requests had published would have been applied too.
    sentinel = await h.create_order(user, "trial")
    assert (await h.send_webhook(h.paid_event(sentinel, user))).status_code == 200
    await _settled(h, user, sentinel["order_id"], 500)
    assert (await h.order(user, victim["order_id"])).json()["status"] == "pending"
    assert await h.balance(user) == 500
    assert await h.invoices(user, victim["order_id"]) == []


def _sig_for(body: bytes) -> str:
    from paystream.devtools.fakes.signing import sign_stripe_payload

    return sign_stripe_payload(body, WEBHOOK_SECRETS[0], int(time.time()))


async def test_unhandled_event_type_is_acknowledged(harness: Harness) -> None:
    r = await harness.send_webhook(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    )
    assert r.status_code == 200
    assert r.json().get("ignored") is True


async def test_another_users_order_and_invoice_are_not_found(harness: Harness) -> None:
    h, alice, mallory = harness, _user(), _user()
    order = await h.create_order(alice, "trial")
    assert (await h.order(mallory, order["order_id"])).status_code == 404
    assert (await h.order(alice, order["order_id"])).status_code == 200
    assert (await h.order("ops", order["order_id"])).status_code == 404
    admin = await h.order("ops", order["order_id"], admin=True)
    assert admin.status_code == 200
    assert (await h.send_webhook(h.paid_event(order, alice))).status_code == 200
    await _settled(h, alice, order["order_id"], 500)
    inv = (await h.invoices(alice, order["order_id"]))[0]
    r = await h.invoice(mallory, inv["id"])
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert await h.invoices(mallory, order["order_id"]) == []
    no_token = await h.http.get(f"{h.urls['checkout']}/v1/orders/{order['order_id']}")
    assert no_token.status_code == 401


async def test_fifty_concurrent_spends_never_overdraw(harness: Harness) -> None:
    h, user = harness, _user()
    order = await h.create_order(user, "standard")
    assert (await h.send_webhook(h.paid_event(order, user))).status_code == 200
    await _settled(h, user, order["order_id"], 1100)

    async def spend() -> int:
        r = await h.http.post(
            f"{h.urls['ledger']}/v1/spend",
            headers={**h.auth(user), "Idempotency-Key": str(uuid.uuid4())},
            json={"credits": 30, "reason": "generate image"},
        )
        assert r.status_code in (201, 409), r.text
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "insufficient_credits"
        return r.status_code

    codes = await asyncio.gather(*(spend() for _ in range(50)))
    assert codes.count(201) == 1100 // 30  # 36 spends fit, the other 14 are refused
    assert codes.count(409) == 50 - 1100 // 30
    assert await h.balance(user) == 1100 - 30 * (1100 // 30)


async def test_every_service_serves_health_metrics_and_docs(harness: Harness) -> None:
    for name, url in harness.urls.items():
        for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
            r = await harness.http.get(url + path)
            assert r.status_code == 200, (name, path, r.status_code)
    packages = (await harness.http.get(f"{harness.urls['checkout']}/v1/packages")).json()
    assert {p["id"]: (p["credits"], p["price"]["value"]) for p in packages["packages"]} == {
        "trial": (500, "50.00"),
        "standard": (1100, "100.00"),
        "value": (6000, "500.00"),
        "premium": (13000, "1000.00"),
    }
