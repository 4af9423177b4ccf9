"""Asking the provider (issue 15), end to end over HTTP with the Alipay and WeChat Pay fakes:
a payment whose notification never comes is credited once through sync and once through the
reconciler, also when the notification arrives afterwards (a plan's order too: its subscription
starts once); a refund whose provider call timed out (or got a 503) after the provider refunded
ends `succeeded`, its credits taken back once.

The stack runs the reconciler every second on orders older than 8 s and refunds older than
15 s (tests/e2e/conftest.py), and gives Alipay calls a 3 s timeout.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from paystream.devtools.client import Harness
from paystream.devtools.fakes.alipay import build_notification, encode_form
from paystream.devtools.sandbox import ALIPAY_APP_ID
from paystream.devtools.stack import Stack

pytestmark = pytest.mark.e2e


def _user() -> str:
    return f"e2e-rec-{uuid.uuid4().hex[:10]}"


def _fake(stack: Stack, name: str) -> str:
    assert stack.sandbox is not None
    return stack.sandbox.url(name)


async def _pay_silently(h: Harness, stack: Stack, order: dict[str, Any]) -> None:
    """The payer pays at the provider and the notification is lost on the way."""
    no = order["provider_session_id"]
    if order["payment_method"].startswith("alipay"):
        url = f"{_fake(stack, 'fake-alipay')}/_fake/trades/{no}/pay"
    else:
        url = f"{_fake(stack, 'fake-wechatpay')}/_fake/transactions/{no}/pay"
    r = await h.http.post(url, json={"deliver": False})
    assert r.status_code == 200, r.text
    assert "notify" not in r.json()
    assert r.json().get("notified") in (None, False)


async def _notify_late(h: Harness, stack: Stack, order: dict[str, Any]) -> None:
    """The lost notification arrives after all (as the provider's retry would)."""
    no = order["provider_session_id"]
    if order["payment_method"].startswith("alipay"):
        assert stack.sandbox is not None
        trade = (await h.http.get(f"{_fake(stack, 'fake-alipay')}/_fake/trades/{no}")).json()
        form = build_notification(
            alipay_private_key=stack.sandbox.alipay_platform[0],
            app_id=ALIPAY_APP_ID,
            out_trade_no=no,
            trade_no=trade["trade_no"],
            trade_status="TRADE_SUCCESS",
            total_amount=trade["total_amount"],
            passback_params=trade["passback_params"],
        )
        r = await h.http.post(
            f"{h.urls['webhook-ingest']}/webhooks/alipay",
            content=encode_form(form),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        assert (r.status_code, r.text) == (200, "success")
    else:
        # Paying a paid transaction again resends its notification (WeChat Pay's retry).
        r = await h.http.post(f"{_fake(stack, 'fake-wechatpay')}/_fake/transactions/{no}/pay")
        assert r.status_code == 200, r.text
        assert r.json()["notify"]["status"] == 200, r.text


async def _credited_once(h: Harness, user: str, order_id: str, credits: int) -> None:
    async def credited() -> bool:
        o = (await h.order(user, order_id)).json()
        return (
            o["status"] == "paid"
            and await h.balance(user) == credits
            and len(await h.invoices(user, order_id)) == 1
        )

    await h.eventually(credited, timeout_s=45)


async def _still_once(h: Harness, user: str, order_id: str, credits: int) -> None:
    await asyncio.sleep(2.0)  # what a second grant would need to show, several times over
    assert (await h.order(user, order_id)).json()["status"] == "paid"
    assert await h.balance(user) == credits
    assert len(await h.invoices(user, order_id)) == 1


@pytest.mark.parametrize("method", ["alipay_qr", "wechat_pay_native"])
async def test_a_lost_notification_is_found_by_sync_and_credited_once(
    harness: Harness, stack: Stack, method: str
) -> None:
    h, user = harness, _user()
    order = await h.create_order(user, "standard", method=method)
    sync_url = f"{h.urls['checkout']}/v1/orders/{order['order_id']}/sync"
    r = await h.http.post(sync_url, headers=h.auth(user))
    assert r.status_code == 200, r.text
    assert r.json()["provider"]["state"] == "open"  # not paid yet
    # Asked again at once: rate-limited per order.
    again = await h.http.post(sync_url, headers=h.auth(user))
    assert again.status_code == 429, again.text
    retry_after = int(again.headers["Retry-After"])
    assert 1 <= retry_after <= 5

    await _pay_silently(h, stack, order)
    await asyncio.sleep(retry_after)
    assert (await h.order(user, order["order_id"])).json()["status"] == "pending"
    r = await h.http.post(sync_url, headers=h.auth(user))
    assert r.status_code == 200, r.text
    assert r.json()["provider"]["state"] == "paid"
    assert r.json()["order"]["status"] == "paid"  # applied before the answer
    await _credited_once(h, user, order["order_id"], 1100)

    await _notify_late(h, stack, order)
    await _still_once(h, user, order["order_id"], 1100)


@pytest.mark.parametrize("method", ["wechat_pay_native", "alipay_qr"])
async def test_a_lost_notification_is_found_by_the_reconciler_and_credited_once(
    harness: Harness, stack: Stack, method: str
) -> None:
    h, user = harness, _user()
    order = await h.create_order(user, "trial", method=method)
    await _pay_silently(h, stack, order)
    # Nobody asks: the reconciler finds it once the order is old enough (8 s here).
    await _credited_once(h, user, order["order_id"], 500)
    await _notify_late(h, stack, order)
    await _still_once(h, user, order["order_id"], 500)


@pytest.mark.parametrize(
    ("method", "found_by"), [("alipay_qr", "sync"), ("wechat_pay_native", "reconciler")]
)
async def test_a_plan_s_lost_payment_is_found_and_starts_its_subscription_once(
    harness: Harness, stack: Stack, method: str, found_by: str
) -> None:
    # A plan's order is settled by its subscription, which sync and the reconciler must hand it
    # to as the consumer does (without it: a 500, and a round that fails on it every time).
    h, user = harness, _user()
    r = await h.http.post(
        f"{h.urls['checkout']}/v1/subscriptions",
        headers={**h.auth(user), "Idempotency-Key": uuid.uuid4().hex},
        json={"plan_id": "pro", "payment_method": method},
    )
    assert r.status_code == 201, r.text
    order = r.json()["order"]
    assert order["kind"] == "subscription"
    await _pay_silently(h, stack, order)
    if found_by == "sync":
        r = await h.http.post(
            f"{h.urls['checkout']}/v1/orders/{order['order_id']}/sync", headers=h.auth(user)
        )
        assert r.status_code == 200, r.text
        assert r.json()["order"]["status"] == "paid"

    async def subscribed() -> dict[str, Any] | None:
        got = await h.http.get(f"{h.urls['checkout']}/v1/subscription", headers=h.auth(user))
        body: dict[str, Any] = got.json()
        ok = body["plan"]["id"] == "pro" and len(await h.invoices(user, order["order_id"])) == 1
        return body if ok else None

    sub = await h.eventually(subscribed, timeout_s=45)
    assert (sub["billing"], sub["status"]) == ("manual", "active")
    await _notify_late(h, stack, order)
    await asyncio.sleep(2.0)
    assert (await h.order(user, order["order_id"])).json()["status"] == "paid"
    assert len(await h.invoices(user, order["order_id"])) == 1
    again = await h.http.get(f"{h.urls['checkout']}/v1/subscription", headers=h.auth(user))
    assert [c["change"] for c in again.json()["history"]].count("subscribed") == 1


async def test_sync_of_someone_elses_order_is_not_found(harness: Harness, stack: Stack) -> None:
    h, owner = harness, _user()
    order = await h.create_order(owner, "trial", method="alipay_qr")
    r = await h.http.post(
        f"{h.urls['checkout']}/v1/orders/{order['order_id']}/sync", headers=h.auth(_user())
    )
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "fault"),
    [
        # Alipay refunds, then every attempt's answer comes after checkout's 3 s timeout.
        ("alipay_qr", {"call": "alipay.trade.refund", "delay_s": 5, "times": 3}),
        # WeChat Pay refunds, then a gateway in front of it answers 503 to every attempt.
        ("wechat_pay_native", {"call": "refund", "status": 503, "times": 3}),
    ],
)
async def test_a_refund_whose_answer_was_lost_ends_succeeded_with_credits_taken_back_once(
    harness: Harness, stack: Stack, method: str, fault: dict[str, Any]
) -> None:
    h, user = harness, _user()
    order = await h.create_order(user, "standard", method=method)
    fake = _fake(stack, "fake-alipay" if method.startswith("alipay") else "fake-wechatpay")
    r = await h.http.post(
        f"{fake}/_fake/{'trades' if method.startswith('alipay') else 'transactions'}/"
        f"{order['provider_session_id']}/pay"
    )
    assert r.status_code == 200, r.text
    await _credited_once(h, user, order["order_id"], 1100)

    armed = await h.http.post(f"{fake}/_fake/faults", json=fault)
    assert armed.status_code == 200, armed.text
    try:
        r = await h.refund(order["order_id"], {"value": "30.00", "currency": "CNY"})
    finally:
        await h.http.delete(f"{fake}/_fake/faults")
    # Not a refusal: the provider may have refunded, so nothing is guessed.
    assert r.status_code == 201, r.text
    refund = r.json()
    assert refund["status"] == "pending"

    async def settled() -> dict[str, Any] | None:
        got = await h.http.get(
            f"{h.urls['checkout']}/v1/refunds/{refund['refund_id']}", headers=h.auth(user)
        )
        body: dict[str, Any] = got.json()
        if body["status"] == "pending":
            return None
        o = (await h.order(user, order["order_id"])).json()
        notes = await h.credit_notes(user, order["order_id"])
        if o["status"] != "partially_refunded" or len(notes) != 1:
            return None
        return body if await h.balance(user) < 1100 else None

    body = await h.eventually(settled, timeout_s=45)
    assert body["status"] == "succeeded", body
    after = await h.balance(user)
    assert 1100 - after in range(300, 360), after  # about 30% back, once

    # The provider's refund notification arrives too: it is the same refund.
    if method.startswith("alipay"):
        n = await h.http.post(
            f"{fake}/_fake/trades/{order['provider_session_id']}/refunds/"
            f"{refund['refund_id']}/notify"
        )
        assert n.json().get("acknowledged") is True, n.text
    await asyncio.sleep(2.0)
    assert await h.balance(user) == after
    assert len(await h.credit_notes(user, order["order_id"])) == 1
    o = (await h.order(user, order["order_id"])).json()
    assert (o["status"], o["refunded"]["value"]) == ("partially_refunded", "30.00")
    refunds = await h.http.get(
        f"{h.urls['checkout']}/v1/refunds",
        headers=h.auth("e2e-admin", admin=True),
        params={"order_id": order["order_id"]},
    )
    assert [x["status"] for x in refunds.json()["items"]] == ["succeeded"]
