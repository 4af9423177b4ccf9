"""Credit notes through the invoicing app on the real Kafka and PostgreSQL: payment and refund
events on a real topic, consumed by the app's own consumer; the invoice shows its credit notes,
refunded total and status; `GET /v1/credit-notes[/{id}]` serve them to their owner (or an admin)
and name what they refuse; a refund that cannot be credited goes to the dead-letter topic."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer

from paystream.shared.events import Envelope, RefundSucceededV1, refund_event_id
from paystream.shared.kafka import create_producer, publish
from paystream.shared.topics import dlq

pytestmark = pytest.mark.integration


def _refunded(order_id: str, user_id: str, amount: int, re: str, currency: str = "CNY") -> Envelope:
    return Envelope.wrap(
        RefundSucceededV1(
            order_id=order_id,
            user_id=user_id,
            refund_id=None,  # made in the provider's dashboard
            provider="wechatpay",
            provider_refund_id=re,
            amount_minor=amount,
            currency=currency,
            reason="damaged",
            refunded_at=datetime(2026, 3, 5, tzinfo=UTC),
        ),
        source="paystream/test",
        subject=user_id,
        id=refund_event_id("succeeded", "wechatpay", re),
    )


async def _dead_letters(topic: str, bootstrap: str, expect: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(r.value or b"" for r in recs)
    finally:
        await consumer.stop()
    return out


async def test_refunds_become_credit_notes_on_the_invoice_and_in_the_api(
    kafka_bootstrap,
    test_topics,
    unique_suffix,
    invoicing_client,
    make_paid,
    make_envelope,
    auth_headers,
) -> None:
    topic = test_topics.payments_events
    alice, bob = f"alice-{unique_suffix}", f"bob-{unique_suffix}"
    events = [
        make_envelope(make_paid("ord-a", user_id=alice), user_id=alice),
        _refunded("ord-a", alice, 2_500, "re-a1"),
        _refunded("ord-a", alice, 2_500, "re-a1"),  # announced twice (checkout, then webhook)
        make_envelope(make_paid("ord-b", user_id=bob), user_id=bob),
        _refunded("ord-b", bob, 10_000, "re-b"),
        _refunded("ord-a", alice, 7_500, "re-a2"),
        _refunded("ord-a", alice, 100, "re-usd", currency="USD"),  # refused: dead-lettered
    ]
    paid = [e for e in events if e.type == "paystream.order.paid.v1"]
    refunds = [e for e in events if e not in paid]

    async def send(envs: list[Envelope]) -> None:
        producer = create_producer(kafka_bootstrap, f"test-{unique_suffix}")
        await producer.start()
        try:
            for env in envs:
                # Paid orders on orders.events, refunds on payments.events.
                await publish(producer, test_topics.of(env.type), env.subject or "", env)
        finally:
            await producer.stop()

    await send(paid)
    async with invoicing_client(
        topic_prefix=test_topics.prefix,
        invoicing_consumer_group=f"invoicing-{unique_suffix}",
        invoicing_run_consumer=True,
    ) as (app, client):
        # The invoices first: a refund of another currency is refused (dead-lettered) when its
        # invoice is known; one consumed before its invoice waits, and is refused only when the
        # invoice comes (the two topics are read in no fixed order, so sending everything at
        # once made the dead letter depend on which came first).
        async def issued() -> int:
            n = 0
            for user in (alice, bob):
                r = await client.get("/v1/invoices", headers=auth_headers(user))
                n += len(r.json()["items"])
            return n

        deadline = asyncio.get_running_loop().time() + 30
        while await issued() < len(paid):
            assert asyncio.get_running_loop().time() < deadline, "invoices not issued in time"
            await asyncio.sleep(0.1)
        await send(refunds)
        [consumer] = app.state.runtime.consumers
        dead = await _dead_letters(dlq(topic), kafka_bootstrap, expect=1)
        assert [Envelope.from_bytes(d).id for d in dead] == [
            refund_event_id("succeeded", "wechatpay", "re-usd")
        ]
        deadline = asyncio.get_running_loop().time() + 30
        while consumer.applied + consumer.duplicates < len(events) - 1:
            assert asyncio.get_running_loop().time() < deadline, "events not consumed in time"
            await asyncio.sleep(0.1)

        me, ops = auth_headers(alice), auth_headers("ops", admin=True)
        [invoice] = (await client.get("/v1/invoices", headers=me)).json()["items"]
        assert invoice["status"] == "refunded"
        assert invoice["refunded"] == {"value": "100.00", "currency": "CNY"}
        assert [(n["amount"]["value"], n["credits"]) for n in invoice["credit_notes"]] == [
            ("25.00", 275),
            ("75.00", 825),
        ]
        one = await client.get(f"/v1/invoices/{invoice['id']}", headers=me)
        assert one.json() == invoice

        mine = (await client.get("/v1/credit-notes", headers=me)).json()
        assert mine["next_cursor"] is None
        assert [n["refund_key"] for n in mine["items"]] == ["wechatpay:re-a2", "wechatpay:re-a1"]
        note = mine["items"][1]
        assert note | {"id": None, "number": None, "issued_at": None} == {
            "id": None,
            "number": None,
            "invoice_id": invoice["id"],
            "invoice_number": invoice["number"],
            "order_id": "ord-a",
            "user_id": alice,
            "amount": {"value": "25.00", "currency": "CNY"},
            "credits": 275,
            "reason": "damaged",
            "refund_key": "wechatpay:re-a1",
            "refund_id": None,
            "provider": "wechatpay",
            "provider_refund_id": "re-a1",
            "refunded_at": "2026-03-05T00:00:00Z",
            "issued_at": None,
        }
        # Alice's and Bob's events are on different partitions: either may be numbered first,
        # the three numbers are gap-free all the same.
        everyone = (await client.get("/v1/credit-notes", headers=ops)).json()["items"]
        assert sorted(n["number"] for n in everyone) == [
            "CN-2026-000001",
            "CN-2026-000002",
            "CN-2026-000003",
        ]
        page1 = (await client.get("/v1/credit-notes", params={"limit": 2}, headers=ops)).json()
        page2 = (
            await client.get(
                "/v1/credit-notes",
                params={"limit": 2, "cursor": page1["next_cursor"]},
                headers=ops,
            )
        ).json()
        assert page2["next_cursor"] is None
        assert [n["id"] for n in page1["items"] + page2["items"]] == [n["id"] for n in everyone]
        bobs = await client.get("/v1/credit-notes", params={"user_id": bob}, headers=ops)
        assert [n["user_id"] for n in bobs.json()["items"]] == [bob]
        by_invoice = await client.get(
            "/v1/credit-notes", params={"invoice_id": invoice["id"]}, headers=ops
        )
        assert len(by_invoice.json()["items"]) == 2
        by_order = await client.get(
            "/v1/credit-notes", params={"order_id": invoice["order_id"]}, headers=me
        )
        assert [n["invoice_id"] for n in by_order.json()["items"]] == [invoice["id"]] * 2
        other_order = await client.get(
            "/v1/credit-notes", params={"order_id": "no-such-order"}, headers=me
        )
        assert other_order.json()["items"] == []

        r = await client.get(f"/v1/credit-notes/{note['id']}", headers=me)
        assert (r.status_code, r.json()) == (200, note)
        r = await client.get(f"/v1/credit-notes/{note['id']}", headers=ops)
        assert (r.status_code, r.json()) == (200, note)

        # What it refuses.
        r = await client.get(f"/v1/credit-notes/{note['id']}", headers=auth_headers(bob))
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
        for bad in (str(uuid.uuid4()), "not-a-uuid"):
            r = await client.get(f"/v1/credit-notes/{bad}", headers=me)
            assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
        for path in ("/v1/credit-notes", f"/v1/credit-notes/{note['id']}"):
            r = await client.get(path)
            assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
        r = await client.get("/v1/credit-notes", params={"user_id": bob}, headers=me)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
        r = await client.get("/v1/credit-notes", params={"cursor": "%%%"}, headers=me)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_request")
        for params in ({"limit": "0"}, {"limit": "101"}, {"invoice_id": "nope"}):
            r = await client.get("/v1/credit-notes", params=params, headers=me)
            assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
