"""Saved cards and auto-recharge end to end, over HTTP: checkout's saved-card calls go to the
stateful fake Stripe (`PAYSTREAM_STRIPE_CUSTOMERS_API_BASE`), whose signed webhooks reach
webhook-ingest as Stripe's would; the ledger announces the crossing, checkout charges the saved
card off-session, and the payment is credited and invoiced through the normal path."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from paystream.devtools.client import Harness
from paystream.shared.events import (
    AutoRechargeDisabledV1,
    AutoRechargeFailedV1,
    AutoRechargeRequiresActionV1,
    AutoRechargeSucceededV1,
    BalanceLowV1,
    Envelope,
)
from paystream.shared.topics import Topics

pytestmark = pytest.mark.e2e

SK = {"Authorization": "Bearer sk_test_123"}
TOPICS = Topics(os.environ.get("PAYSTREAM_TOPIC_PREFIX", ""))


def _user() -> str:
    return f"ar-{uuid.uuid4().hex[:12]}"


async def _checkout(
    h: Harness, method: str, path: str, user: str, body: Any = None, **kw: Any
) -> httpx.Response:
    return await h.http.request(
        method, f"{h.urls['checkout']}{path}", headers=h.auth(user), json=body, **kw
    )


async def _ledger(h: Harness, method: str, path: str, user: str, body: Any = None) -> Any:
    headers = {**h.auth(user), "Idempotency-Key": uuid.uuid4().hex}
    r = await h.http.request(method, f"{h.urls['ledger']}{path}", headers=headers, json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def save_card(h: Harness, fake: httpx.AsyncClient, user: str, token: str) -> str:
    return await h.save_card(fake, user, token)


async def saved(h: Harness, user: str) -> list[dict[str, Any]]:
    return await h.saved_cards(user)


async def buy(h: Harness, user: str) -> None:
    """1,100 credits, paid as Stripe would notify."""
    order = await h.create_order(user, "standard")
    r = await h.send_webhook(h.paid_event(order, user))
    assert r.status_code == 200, r.text

    async def granted() -> bool:
        return await h.balance(user) >= 1100

    await h.eventually(granted)


async def configure(h: Harness, user: str, **over: Any) -> dict[str, Any]:
    body = {
        "enabled": True,
        "unit": "credits",
        "threshold": 500,
        "package_id": "standard",
        "currency": "USD",
        "monthly_cap": {"value": "100.00", "currency": "USD"},
        "daily_count_cap": 5,
        "consent_text": "Top up 1,100 credits for $14.00 on my saved card when I drop below 500.",
        **over,
    }
    r = await _checkout(h, "PUT", "/v1/auto-recharge", user, body)
    assert r.status_code == 200, r.text

    async def threshold_set() -> bool:
        got = await _ledger(h, "GET", "/v1/balance-thresholds", user)
        return [i["threshold"] for i in got["items"]] == [body["threshold"]]

    await h.eventually(threshold_set)
    result: dict[str, Any] = r.json()
    return result


async def spend(h: Harness, user: str, credits: int) -> None:
    await _ledger(h, "POST", "/v1/spend", user, {"credits": credits, "reason": "work"})


async def state(h: Harness, user: str) -> dict[str, Any]:
    r = await _checkout(h, "GET", "/v1/auto-recharge", user)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def charges(fake: httpx.AsyncClient, customer_pms: set[str]) -> list[dict[str, Any]]:
    """The PaymentIntents the fake was asked to create for these cards."""
    got = (await fake.get("/_fake/requests")).json()
    out = []
    for req in got:
        if req.get("method") == "POST" and req.get("path") == "/v1/payment_intents":
            params = req.get("params") or req.get("body") or {}
            if params.get("payment_method") in customer_pms:
                out.append(req)
    return out


async def orders_events(user: str, timeout_s: float = 20) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        TOPICS.orders_events,
        bootstrap_servers=os.environ["PAYSTREAM_KAFKA_BOOTSTRAP"],
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    out: list[Envelope] = []
    try:
        end = asyncio.get_running_loop().time() + timeout_s
        idle = 0
        while asyncio.get_running_loop().time() < end and idle < 4:
            batch = await consumer.getmany(timeout_ms=500)
            idle = 0 if batch else idle + 1
            for recs in batch.values():
                for rec in recs:
                    if rec.key == user.encode():
                        out.append(Envelope.from_bytes(rec.value or b""))
    finally:
        await consumer.stop()
    return out


# ---- the tests ----------------------------------------------------------------------------


async def test_save_cards_then_one_recharge_credited_and_invoiced(
    harness: Harness, fake: httpx.AsyncClient
) -> None:
    h, user = harness, _user()
    first = await save_card(h, fake, user, "pm_card_visa")
    second = await save_card(h, fake, user, "pm_card_mastercard")
    third = await save_card(h, fake, user, "pm_card_visa")
    cards = {m["id"]: m for m in await saved(h, user)}
    assert cards[first]["default"] is True
    assert (cards[second]["brand"], cards[second]["last4"]) == ("mastercard", "4444")

    r = await _checkout(h, "POST", f"/v1/payment-methods/saved/{second}/default", user)
    assert r.status_code == 200, r.text
    r = await _checkout(h, "DELETE", f"/v1/payment-methods/saved/{third}", user)
    assert r.status_code == 204, r.text
    assert {m["id"]: m["default"] for m in await saved(h, user)} == {
        first: False,
        second: True,
    }
    # Another user sees none of it and cannot touch it.
    stranger = _user()
    assert await saved(h, stranger) == []
    r = await _checkout(h, "DELETE", f"/v1/payment-methods/saved/{first}", stranger)
    assert r.status_code == 404, r.text
    r = await _checkout(
        h,
        "PUT",
        "/v1/auto-recharge",
        stranger,
        {
            "enabled": True,
            "threshold": 500,
            "package_id": "standard",
            "currency": "USD",
            "payment_method_id": first,
            "monthly_cap": {"value": "100.00", "currency": "USD"},
            "daily_count_cap": 5,
            "consent_text": "yes",
        },
    )
    assert (r.status_code, r.json()["error"]["code"]) == (404, "payment_method_not_found")

    await buy(h, user)
    await configure(h, user)
    await spend(h, user, 700)  # 1,100 -> 400: below 500

    async def credited() -> bool:
        return await h.balance(user) == 400 + 1100

    await h.eventually(credited, timeout_s=60)
    body = await state(h, user)
    (attempt,) = body["attempts"]
    assert (attempt["status"], attempt["trigger"], attempt["tries"]) == (
        "succeeded",
        "balance_low",
        1,
    )
    assert body["items"][0]["status"] == "active"
    order = (await h.order(user, attempt["order_id"])).json()
    assert order["status"] == "paid"
    assert order["amount"] == {"value": "14.00", "currency": "USD"}
    # Charged to the default card, once.
    (pi,) = await charges(fake, {first, second})
    params = pi.get("params") or pi.get("body")
    assert params["payment_method"] == second
    assert params["off_session"] in ("true", True)

    lots = await _ledger(h, "GET", "/v1/lots", user)
    recharge_lot = [x for x in lots["items"] if x["order_id"] == attempt["order_id"]]
    assert [x["source"] for x in recharge_lot] == ["auto_recharge"]

    async def invoiced() -> list[dict[str, Any]]:
        return await h.invoices(user, attempt["order_id"])

    (invoice,) = await h.eventually(invoiced)
    assert invoice["amount"] == {"value": "14.00", "currency": "USD"}

    types = [e.type for e in await orders_events(user)]
    assert types.count(AutoRechargeSucceededV1.TYPE) == 1


async def test_twenty_concurrent_spends_and_a_replay_of_ledger_events_charge_once(
    harness: Harness, fake: httpx.AsyncClient
) -> None:
    h, user = harness, _user()
    card = await save_card(h, fake, user, "pm_card_visa")
    await buy(h, user)
    await configure(h, user)
    # 20 spends of 40 at once: 1,100 -> 300, crossing 500 once.
    await asyncio.gather(*(spend(h, user, 40) for _ in range(20)))

    async def credited() -> bool:
        return await h.balance(user) == 300 + 1100

    await h.eventually(credited, timeout_s=60)

    # Replay: every balance.low of this user on ledger.events delivered again, as an operator's
    # replay would.
    consumer = AIOKafkaConsumer(
        TOPICS.ledger_events,
        bootstrap_servers=os.environ["PAYSTREAM_KAFKA_BOOTSTRAP"],
        auto_offset_reset="earliest",
        group_id=None,
    )
    lows: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
    await consumer.start()
    try:
        idle = 0
        while idle < 4:
            batch = await consumer.getmany(timeout_ms=500)
            idle = 0 if batch else idle + 1
            for recs in batch.values():
                for rec in recs:
                    env = Envelope.from_bytes(rec.value or b"")
                    if env.type == BalanceLowV1.TYPE and env.subject == user:
                        lows.append((rec.key or b"", rec.value or b"", list(rec.headers)))
    finally:
        await consumer.stop()
    assert len(lows) == 1  # one crossing, announced once
    producer = AIOKafkaProducer(bootstrap_servers=os.environ["PAYSTREAM_KAFKA_BOOTSTRAP"])
    await producer.start()
    try:
        for _ in range(3):
            for key, value, headers in lows:
                await producer.send_and_wait(TOPICS.ledger_events, value, key=key, headers=headers)
    finally:
        await producer.stop()
    await asyncio.sleep(3)

    assert len(await charges(fake, {card})) == 1
    assert len((await state(h, user))["attempts"]) == 1
    assert await h.balance(user) == 1400


async def test_a_card_requiring_authentication_waits_for_the_user_and_then_completes(
    harness: Harness, fake: httpx.AsyncClient
) -> None:
    h, user = harness, _user()
    # 4000 0027 6000 3184: always asks for 3-D Secure, on- and off-session.
    card = await save_card(h, fake, user, "pm_card_authenticationRequired")
    await buy(h, user)
    await configure(h, user)
    await spend(h, user, 700)

    async def waiting() -> dict[str, Any] | None:
        body = await state(h, user)
        return body if body["items"][0]["status"] == "requires_action" else None

    body = await h.eventually(waiting, timeout_s=60)
    setting = body["items"][0]
    (attempt,) = body["attempts"]
    assert attempt["status"] == "requires_action"
    assert setting["action_url"].endswith(f"order_id={attempt['order_id']}")
    assert setting["last_error"]

    # No further charge until the user acts: the trigger is refused, spends charge nothing.
    r = await _checkout(h, "POST", "/v1/auto-recharge/trigger", user, {})
    assert r.status_code == 409, r.text
    await spend(h, user, 100)
    await asyncio.sleep(2)
    assert len(await charges(fake, {card})) == 1
    assert await h.balance(user) == 300

    # The user completes the payment on-session (Stripe.js with the order's client_secret).
    order = (await h.order(user, attempt["order_id"])).json()
    pi = order["provider_session_id"]
    assert pi.startswith("pi_")
    assert order["client_secret"]
    r = await fake.post(
        f"/v1/payment_intents/{pi}/confirm", data={"payment_method": card}, headers=SK
    )
    assert r.status_code == 200, r.text
    r = await fake.post(f"/_fake/3ds/{pi}/complete")
    assert r.status_code == 200, r.text

    async def completed() -> bool:
        return await h.balance(user) == 300 + 1100

    await h.eventually(completed, timeout_s=60)
    body = await state(h, user)
    assert body["items"][0]["status"] == "active"
    assert body["items"][0]["last_error"] is None
    assert body["attempts"][0]["status"] == "succeeded"
    types = [e.type for e in await orders_events(user)]
    assert types.count(AutoRechargeRequiresActionV1.TYPE) == 1
    assert types.count(AutoRechargeSucceededV1.TYPE) == 1


async def test_a_declined_card_disables_auto_recharge_and_says_so(
    harness: Harness, fake: httpx.AsyncClient
) -> None:
    h, user = harness, _user()
    # 4000 0000 0000 0341: saved fine, every charge declined.
    card = await save_card(h, fake, user, "pm_card_chargeCustomerFail")
    await buy(h, user)
    await configure(h, user)
    await spend(h, user, 700)

    async def disabled() -> dict[str, Any] | None:
        body = await state(h, user)
        return body if body["items"][0]["status"] == "disabled" else None

    body = await h.eventually(disabled, timeout_s=60)
    assert "declined" in body["items"][0]["last_error"].lower()
    assert body["attempts"][0]["status"] == "failed"
    assert len(await charges(fake, {card})) == 1  # never retried
    assert await h.balance(user) == 400
    events = [e for e in await orders_events(user) if e.type == AutoRechargeDisabledV1.TYPE]
    (event,) = events
    assert event.data["code"] == "generic_decline"  # Stripe's decline code for 0341


async def test_the_monthly_cap_reached_charges_nothing_and_says_so(
    harness: Harness, fake: httpx.AsyncClient
) -> None:
    h, user = harness, _user()
    card = await save_card(h, fake, user, "pm_card_visa")
    await buy(h, user)
    # Room for one recharge of 14.00 a month.
    await configure(h, user, monthly_cap={"value": "20.00", "currency": "USD"})
    await spend(h, user, 700)

    async def first_credited() -> bool:
        return await h.balance(user) == 1500

    await h.eventually(first_credited, timeout_s=60)
    await spend(h, user, 1100)  # 1,500 -> 400: a second crossing

    async def capped() -> dict[str, Any] | None:
        body = await state(h, user)
        found = [a for a in body["attempts"] if a["status"] == "skipped"]
        return body if found else None

    body = await h.eventually(capped, timeout_s=60)
    skipped = next(a for a in body["attempts"] if a["status"] == "skipped")
    assert skipped["error_code"] == "monthly_cap_reached"
    assert skipped["order_id"] is None
    assert "monthly cap" in body["items"][0]["last_error"]
    assert len(await charges(fake, {card})) == 1
    assert await h.balance(user) == 400
    failed = [e for e in await orders_events(user) if e.type == AutoRechargeFailedV1.TYPE]
    assert [e.data["code"] for e in failed] == ["monthly_cap_reached"]


async def test_refused_methods_and_out_of_range_settings_get_a_clear_4xx(
    harness: Harness, fake: httpx.AsyncClient
) -> None:
    h, user = harness, _user()
    await save_card(h, fake, user, "pm_card_visa")
    base = {
        "enabled": True,
        "threshold": 500,
        "package_id": "standard",
        "currency": "USD",
        "monthly_cap": {"value": "100.00", "currency": "USD"},
        "daily_count_cap": 5,
        "consent_text": "yes",
    }
    for over, status, code in (
        ({"payment_method_id": "alipay_qr"}, 422, "auto_recharge_method_refused"),
        ({"payment_method_id": "wechat_pay_native"}, 422, "auto_recharge_method_refused"),
        ({"payment_method_id": "usdt_trc20"}, 422, "auto_recharge_method_refused"),
        ({"threshold": 0}, 422, "validation_error"),
        ({"threshold": 10**13}, 422, "validation_error"),
        ({"daily_count_cap": 0}, 422, "validation_error"),
        ({"monthly_cap": {"value": "1.00", "currency": "USD"}}, 422, "cap_below_amount"),
    ):
        r = await _checkout(h, "PUT", "/v1/auto-recharge", user, {**base, **over})
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text


async def test_a_transient_failure_retries_with_backoff_then_disables(
    harness: Harness, fake: httpx.AsyncClient
) -> None:
    h, user = harness, _user()
    card = await save_card(h, fake, user, "pm_card_visa")
    # Saved fine; from now on the issuer answers processing_error (4000 0000 0000 0119).
    r = await fake.post(f"/_fake/payment_methods/{card}/card", json={"number": "4000000000000119"})
    assert r.status_code == 200, r.text
    await buy(h, user)
    await configure(h, user)
    await spend(h, user, 700)

    async def disabled() -> dict[str, Any] | None:
        body = await state(h, user)
        return body if body["items"][0]["status"] == "disabled" else None

    # The e2e stack retries after 1 s, 2 s, 4 s (PAYSTREAM_AUTO_RECHARGE_BACKOFF_S=1), 4 tries.
    body = await h.eventually(disabled, timeout_s=90)
    (attempt,) = body["attempts"]
    assert (attempt["status"], attempt["tries"]) == ("failed", 4)
    assert "gave up after 4 tries" in body["items"][0]["last_error"]
    assert len(await charges(fake, {card})) == 4  # one charge per try, each its own key
    assert await h.balance(user) == 400
    events = await orders_events(user)
    failed = [e for e in events if e.type == AutoRechargeFailedV1.TYPE]
    assert [e.data["retry_at"] is not None for e in failed] == [True, True, True, False]
    (off,) = [e for e in events if e.type == AutoRechargeDisabledV1.TYPE]
    assert off.data["code"] == "retries_exhausted"
