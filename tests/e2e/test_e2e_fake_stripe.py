"""The fake Stripe as the stack runs it (`make run`, these tests): a process beside the
services whose webhooks webhook-ingest verifies with its own secret."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from paystream.devtools.stack import Stack

pytestmark = pytest.mark.e2e


async def test_fake_stripe_webhooks_verify_at_webhook_ingest(stack: Stack) -> None:
    assert stack.sandbox is not None
    base = stack.sandbox.url("fake-stripe")
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.post(
            "/v1/customers",
            data={"email": "e2e@example.com", "metadata[user_id]": "e2e-user"},
            headers={"Authorization": "Bearer sk_test_123"},
        )
        assert r.status_code == 200, r.text
        deliveries: list[dict[str, Any]] = []
        for _ in range(300):
            got = await http.get("/_fake/deliveries", params={"type": "customer.created"})
            deliveries = [d for d in got.json() if d["delivered"]]
            if deliveries:
                break
            await asyncio.sleep(0.1)
    assert deliveries, "customer.created never delivered"
    delivery = deliveries[-1]
    assert delivery["url"] == f"{stack.urls['webhook-ingest']}/webhooks/stripe"
    # A wrong secret would be a 400 from ingest, retried; the first attempt is accepted.
    assert [a["status"] for a in delivery["attempts"]] == [200]
