"""The invoicing app consuming a real Kafka topic: Stripe's two events for one payment, a
redelivery and a failed payment give one invoice per paid order, numbered without gaps."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from paystream.shared.events import PaymentFailedV1
from paystream.shared.kafka import create_producer, publish

pytestmark = pytest.mark.integration


async def test_consumer_issues_one_invoice_per_paid_order(
    kafka_bootstrap,
    test_topics,
    unique_suffix,
    invoicing_client,
    make_paid,
    make_envelope,
    auth_headers,
) -> None:
    alice, bob = f"alice-{unique_suffix}", f"bob-{unique_suffix}"
    session_completed = make_envelope(
        make_paid("ord-a", user_id=alice, provider_event_id="evt_cs"), user_id=alice
    )
    events = [
        session_completed,
        make_envelope(make_paid("ord-a", user_id=alice, provider_event_id="evt_pi"), user_id=alice),
        session_completed,  # redelivered by the provider path
        make_envelope(
            PaymentFailedV1(
                order_id="ord-b",
                user_id=bob,
                provider="stripe",
                provider_event_id="evt_fail",
                reason="card_declined",
                failed_at=datetime(2026, 3, 1, tzinfo=UTC),
            ),
            user_id=bob,
        ),
        make_envelope(make_paid("ord-b", user_id=bob), user_id=bob),
    ]
    producer = create_producer(kafka_bootstrap, f"test-{unique_suffix}")
    await producer.start()
    try:
        for env in events:
            # Each event on its own topic: paid orders on orders.events, refunds on
            # payments.events (a refund consumed first waits for its invoice).
            await publish(producer, test_topics.of(env.type), env.subject or "", env)
    finally:
        await producer.stop()

    async with invoicing_client(
        topic_prefix=test_topics.prefix,
        invoicing_consumer_group=f"invoicing-{unique_suffix}",
        invoicing_run_consumer=True,
    ) as (app, client):
        [consumer] = app.state.runtime.consumers
        deadline = asyncio.get_running_loop().time() + 30
        while consumer.applied + consumer.duplicates + consumer.passed < len(events):
            assert asyncio.get_running_loop().time() < deadline, "events not consumed in time"
            await asyncio.sleep(0.1)
        # The failed payment makes no invoice: passed by its header, never in the inbox.
        assert (consumer.applied, consumer.duplicates, consumer.passed) == (3, 1, 1)

        r = await client.get("/v1/invoices", headers=auth_headers("ops", admin=True))
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert sorted((i["order_id"], i["user_id"]) for i in items) == [
            ("ord-a", alice),
            ("ord-b", bob),
        ]
        # Alice's and Bob's events travel on different partitions (the key is the user id), so
        # either order may come first; the numbers are 1 and 2 all the same.
        assert sorted(i["number"] for i in items) == ["INV-2026-000001", "INV-2026-000002"]

        mine = await client.get(
            "/v1/invoices", params={"order_id": "ord-a"}, headers=auth_headers(alice)
        )
        [invoice] = mine.json()["items"]
        assert invoice["amount"] == {"value": "100.00", "currency": "CNY"}
        assert invoice["description"] == "standard — 1,100 credits"
        assert uuid.UUID(invoice["id"])
