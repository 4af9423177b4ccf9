"""Refunds are never guessed (issue 15), end to end over HTTP with the Alipay fake: two partial
refunds of one trade, whose notifications carry Alipay's CUMULATIVE refund_fee, take back
exactly their own amounts, whether each notification arrives after checkout's own announcement
or before it (the refund's answer lost, the refund still pending when the notification comes).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from paystream.devtools.client import Harness
from paystream.devtools.stack import Stack

pytestmark = pytest.mark.e2e


def _fake(stack: Stack) -> str:
    assert stack.sandbox is not None
    return stack.sandbox.url("fake-alipay")


async def _refund(h: Harness, stack: Stack, order: dict[str, Any], value: str, first: str) -> str:
    """Refund `value` CNY; the provider's notification arrives after checkout's announcement
    (`first` = "announcement") or before it (`first` = "notification": Alipay refunded but its
    answer was lost, so checkout's refund is still pending when the notification comes)."""
    fake, no = _fake(stack), order["provider_session_id"]
    if first == "notification":
        fault = {"call": "alipay.trade.refund", "status": 503, "times": 3}
        armed = await h.http.post(f"{fake}/_fake/faults", json=fault)
        assert armed.status_code == 200, armed.text
    try:
        r = await h.refund(order["order_id"], {"value": value, "currency": "CNY"})
    finally:
        await h.http.delete(f"{fake}/_fake/faults")
    assert r.status_code == 201, r.text
    refund = r.json()
    assert refund["status"] == ("pending" if first == "notification" else "succeeded"), refund
    n = await h.http.post(f"{fake}/_fake/trades/{no}/refunds/{refund['refund_id']}/notify")
    assert n.json().get("acknowledged") is True, n.text
    return str(refund["refund_id"])


@pytest.mark.parametrize("first", ["announcement", "notification"])
async def test_two_alipay_partial_refunds_take_back_exactly_their_own_amounts(
    harness: Harness, stack: Stack, first: str
) -> None:
    h, user = harness, f"e2e-rr-{uuid.uuid4().hex[:10]}"
    order = await h.create_order(user, "standard", method="alipay_qr")  # 100.00 CNY, 1100
    paid = await h.http.post(f"{_fake(stack)}/_fake/trades/{order['provider_session_id']}/pay")
    assert paid.status_code == 200, paid.text

    async def credited() -> bool:
        return await h.balance(user) == 1100

    await h.eventually(credited, timeout_s=45)

    ids = [await _refund(h, stack, order, "20.00", first)]
    # The second refund's notification says refund_fee 50.00: the trade's total, not its own.
    ids.append(await _refund(h, stack, order, "30.00", first))

    async def settled() -> list[dict[str, Any]] | None:
        notes = await h.credit_notes(user, order["order_id"])
        o = (await h.order(user, order["order_id"])).json()
        done = len(notes) == 2 and o["refunded"]["value"] == "50.00"
        return notes if done and await h.balance(user) <= 550 else None

    notes = await h.eventually(settled, timeout_s=45)
    assert sorted(n["amount"]["value"] for n in notes) == ["20.00", "30.00"]
    # floor(1100 x 50.00 / 100.00) in all: 220 for the first, 330 for the second.
    assert await h.balance(user) == 550
    for rid in ids:
        got = await h.http.get(f"{h.urls['checkout']}/v1/refunds/{rid}", headers=h.auth(user))
        assert got.json()["status"] == "succeeded", got.text
    amounts = {
        x["refund_id"]: x["amount"]["value"]
        for x in (
            await h.http.get(
                f"{h.urls['checkout']}/v1/refunds",
                headers=h.auth("e2e-admin", admin=True),
                params={"order_id": order["order_id"]},
            )
        ).json()["items"]
    }
    assert amounts == {ids[0]: "20.00", ids[1]: "30.00"}

    # Nothing more arrives later (the reconciler's query, a repeated notification).
    await asyncio.sleep(2.0)
    assert await h.balance(user) == 550
    assert len(await h.credit_notes(user, order["order_id"])) == 2
    o = (await h.order(user, order["order_id"])).json()
    assert (o["status"], o["refunded"]["value"]) == ("partially_refunded", "50.00")
