"""Lots end to end, over HTTP, through the real purchase flow (checkout order, the provider's
webhook, checkout's paid order, the ledger's lot), moving the ledger's sandbox clock: a purchase
expires six months and a day later (gone, an expire entry and its event); two purchases a month
apart are consumed oldest expiry first; a hold that times out releases its credits."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from paystream.devtools.client import Harness
from paystream.shared.events import CreditsExpiredV1, Envelope
from paystream.shared.topics import Topics

pytestmark = pytest.mark.e2e


def _user() -> str:
    return f"lots-{uuid.uuid4().hex[:12]}"


async def _buy(h: Harness, user: str, package: str = "standard") -> str:
    """Place an order, pay it as Stripe would, wait until the ledger granted it; the order id."""
    order = await h.create_order(user, package)
    r = await h.send_webhook(h.paid_event(order, user))
    assert r.status_code == 200, r.text

    async def granted() -> bool:
        lots = await _get(h, "/v1/lots", user)
        return any(x["order_id"] == order["order_id"] for x in lots["items"])

    await h.eventually(granted)
    return str(order["order_id"])


async def _get(h: Harness, path: str, user: str, **params: Any) -> dict[str, Any]:
    r = await h.http.get(f"{h.urls['ledger']}{path}", headers=h.auth(user), params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _post(h: Harness, path: str, user: str, body: Any = None, **kw: Any) -> dict[str, Any]:
    admin = user == "ops"
    headers = {**h.auth(user, admin=admin), "Idempotency-Key": uuid.uuid4().hex}
    r = await h.http.post(f"{h.urls['ledger']}{path}", headers=headers, json=body, **kw)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def _clock(h: Harness) -> datetime:
    return datetime.fromisoformat((await _get(h, "/v1/sandbox/clock", "ops"))["now"])


async def _advance(h: Harness, by: timedelta) -> None:
    await _post(h, "/v1/sandbox/clock/advance", "ops", {"by": f"PT{int(by.total_seconds())}S"})


async def _credits(h: Harness, user: str) -> dict[str, Any]:
    body = await _get(h, "/v1/balance", user)
    return next(b for b in body["balances"] if b["unit"] == "credits")


async def test_a_purchase_expires_six_months_and_a_day_later(harness: Harness) -> None:
    h, user = harness, _user()
    order_id = await _buy(h, user)
    balance = await _credits(h, user)
    assert balance["available"] == 1100
    # The catalog's rule: six calendar months from the payment.
    expires_at = datetime.fromisoformat(balance["next_expiry"]["expires_at"])
    now = await _clock(h)
    assert timedelta(days=180) < expires_at - now <= timedelta(days=185)
    [lot] = (await _get(h, "/v1/lots", user))["items"]
    assert (lot["order_id"], lot["validity_rule"], lot["status"]) == (order_id, "P6M", "active")

    # Six months and a day later the credits are gone, before any job ran.
    await _advance(h, expires_at - now + timedelta(days=1))
    assert (await _credits(h, user))["available"] == 0
    r = await h.http.post(
        f"{h.urls['ledger']}/v1/spend",
        headers={**h.auth(user), "Idempotency-Key": uuid.uuid4().hex},
        json={"credits": 1, "reason": "too late"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "insufficient_credits")

    await _post(h, "/v1/sandbox/jobs/run", "ops")
    [entry] = (await _get(h, "/v1/transactions", user, type="expire"))["items"]
    assert (entry["credits"], entry["lots"]) == (-1100, [{"lot_id": lot["id"], "credits": 1100}])
    [lot] = (await _get(h, "/v1/lots", user))["items"]
    assert (lot["status"], lot["expired"], lot["remaining"]) == ("expired", 1100, 0)

    # And its event left on ledger.events.
    topic = Topics(os.environ.get("PAYSTREAM_TOPIC_PREFIX", "")).ledger_events
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=os.environ["PAYSTREAM_KAFKA_BOOTSTRAP"],
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    found: list[CreditsExpiredV1] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not found and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=500)).values():
                for rec in recs:
                    env = Envelope.from_bytes(rec.value or b"")
                    if env.type == CreditsExpiredV1.TYPE and env.subject == user:
                        found.append(env.payload_as(CreditsExpiredV1))
    finally:
        await consumer.stop()
    [event] = found
    assert (str(event.lot_id), event.credits, event.cost_minor, event.cost_currency) == (
        lot["id"],
        1100,
        10_000,
        "CNY",
    )


async def test_two_purchases_a_month_apart_are_consumed_oldest_expiry_first(
    harness: Harness,
) -> None:
    h, user = harness, _user()
    first = await _buy(h, user, "trial")  # 500 credits
    await _advance(h, timedelta(days=31))
    second = await _buy(h, user, "trial")
    lots = {x["order_id"]: x for x in (await _get(h, "/v1/lots", user))["items"]}
    assert lots[first]["expires_at"] < lots[second]["expires_at"]
    spent = await _post(h, "/v1/spend", user, {"credits": 600, "reason": "a long video"})
    assert spent["lots"] == [
        {"lot_id": lots[first]["id"], "credits": 500},
        {"lot_id": lots[second]["id"], "credits": 100},
    ]
    assert (await _credits(h, user))["available"] == 400


async def test_a_hold_that_times_out_releases_its_credits(harness: Harness) -> None:
    h, user = harness, _user()
    await _buy(h, user, "trial")
    hold = await _post(h, "/v1/holds", user, {"credits": 300, "ttl_seconds": 60})
    assert hold["status"] == "open"
    balance = await _credits(h, user)
    assert (balance["available"], balance["held"]) == (200, 300)
    await _advance(h, timedelta(seconds=61))
    r = await h.http.post(
        f"{h.urls['ledger']}/v1/holds/{hold['hold_id']}/capture",
        headers=h.auth(user),
        json={"credits": 10},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "hold_expired")
    jobs = await _post(h, "/v1/sandbox/jobs/run", "ops")
    assert jobs["holds_released"] >= 1
    balance = await _credits(h, user)
    assert (balance["available"], balance["held"]) == (500, 0)
    got = await _get(h, f"/v1/holds/{hold['hold_id']}", user)
    assert (got["status"], got["released"]) == ("expired", 300)
    released = (await _get(h, "/v1/transactions", user, type="release"))["items"]
    assert [i["credits"] for i in released] == [300]
