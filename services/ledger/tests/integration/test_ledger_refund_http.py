"""Refunds end to end in the ledger app, on the real Kafka and PostgreSQL: payment and refund
events published to the app's payments topic are consumed by its own consumer; the revocation
shows in the user's history, CreditsRevokedV1 leaves through the outbox, a refund that cannot
apply is dead-lettered, and operators see shortfalls and pending refunds at
`GET /v1/admin/refunds` (with what it refuses)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from paystream.devtools.orders import order_paid
from paystream.ledger.app import create_app
from paystream.ledger.settings import LedgerSettings
from paystream.shared.auth import make_token
from paystream.shared.events import (
    CreditsRevokedV1,
    Envelope,
    RefundSucceededV1,
    refund_event_id,
)
from paystream.shared.kafka import create_producer, publish
from paystream.shared.topics import Topics, dlq

pytestmark = pytest.mark.integration

JWT = "ledger-refund-test-jwt-secret-long-enough-for-hs256-0123"


@dataclass
class App:
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    settings: LedgerSettings
    producer: AIOKafkaProducer

    def auth(self, user: str, *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(user, JWT, role='admin' if admin else None)}"}

    async def publish(self, env: Envelope) -> None:
        await publish(self.producer, self.settings.topics.payments_events, env.subject or "", env)

    async def get(self, path: str, user: str, *, admin: bool = False, **params: Any) -> Any:
        r = await self.http.get(path, headers=self.auth(user, admin=admin), params=params)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
async def app(
    fresh_database: Callable[[str, Path | None], Awaitable[str]],
    test_topics: Topics,
    kafka_bootstrap: str,
    unique_suffix: str,
) -> AsyncIterator[App]:
    dsn = await fresh_database("ledger", None)
    settings = LedgerSettings(
        database=dsn.rsplit("/", 1)[1],
        topic_prefix=test_topics.prefix,
        ledger_consumer_group=f"ledger.{unique_suffix}",
        jwt_secret=JWT,
        log_level="WARNING",
    )
    application = create_app(settings)
    producer = create_producer(kafka_bootstrap, "ledger-refund-test")
    await producer.start()
    try:
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url="http://ledger"
            ) as http,
        ):
            yield App(http, application.state.runtime.pool, settings, producer)
    finally:
        await producer.stop()


def _paid(order: str, user: str, credits: int, amount: int) -> Envelope:
    return Envelope.wrap(
        order_paid(
            order,
            user,
            credits=credits,
            amount_minor=amount,
            provider="alipay",
            payment_method="alipay_qr",
            provider_event_id=f"trade_{order}",
        ),
        source="paystream/test",
        subject=user,
    )


def _refunded(order: str, user: str, amount: int, re: str, currency: str = "CNY") -> Envelope:
    return Envelope.wrap(
        RefundSucceededV1(
            order_id=order,
            user_id=user,
            refund_id=re,
            provider="alipay",
            provider_refund_id=re,
            amount_minor=amount,
            currency=currency,
            reason="duplicate",
            refunded_at=datetime.now(UTC),
        ),
        source="paystream/test",
        subject=user,
        id=refund_event_id("succeeded", "alipay", re),
    )


async def _until(cond: Callable[[], Awaitable[bool]], timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def _records(topic: str, bootstrap: str, expect: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(recs)
    finally:
        await consumer.stop()
    return out


async def test_refunds_flow_through_the_consumer_into_history_events_and_the_admin_view(
    app: App, kafka_bootstrap: str, unique_suffix: str
) -> None:
    alice, bob = f"alice-{unique_suffix}", f"bob-{unique_suffix}"
    o1, o2, o3 = (f"o{i}-{unique_suffix}" for i in (1, 2, 3))
    for env in (
        _paid(o1, alice, 1100, 10_000),
        _refunded(o1, alice, 5_000, f"re-half-{unique_suffix}"),
        _paid(o2, bob, 100, 1_000),
        # Another deployment's order (or a payment not seen yet): waits, pending.
        _refunded(o3, bob, 1_000, f"re-early-{unique_suffix}"),
        # A refund in USD of a CNY payment: refused, to the DLQ.
        _refunded(o1, alice, 100, f"re-usd-{unique_suffix}", currency="USD"),
    ):
        await app.publish(env)
    # The same refund announced again (checkout and the provider's notification).
    await app.publish(_refunded(o1, alice, 5_000, f"re-half-{unique_suffix}"))

    async def settled() -> bool:
        n = await app.pool.fetchval("SELECT count(*) FROM refunds")
        return int(n) == 2

    await _until(settled)
    dead = await _records(dlq(app.settings.topics.payments_events), kafka_bootstrap, expect=1)
    assert len(dead) == 1
    assert Envelope.from_bytes(dead[0].value or b"").id == refund_event_id(
        "succeeded", "alipay", f"re-usd-{unique_suffix}"
    )
    assert b"USD" in dict(dead[0].headers)["dlq_error"]

    assert (await app.get("/v1/balance", alice))["credits"] == 550
    history = (await app.get("/v1/transactions", alice))["items"]
    assert [(i["kind"], i["credits"], i["balance_after"], i["order_id"]) for i in history] == [
        ("revoke", -550, 550, o1),
        ("grant", 1100, 1100, o1),
    ]
    assert history[0]["refund_key"] == f"alipay:re-half-{unique_suffix}"
    assert history[0]["reason"] == "refund: duplicate"

    # Bob spends everything, then his payment is refunded in full: shortfall, balance 0.
    r = await app.http.post(
        "/v1/spend",
        headers={**app.auth(bob), "Idempotency-Key": "k1"},
        json={"credits": 100, "reason": "render"},
    )
    assert r.status_code == 201, r.text
    await app.publish(_refunded(o2, bob, 1_000, f"re-bob-{unique_suffix}"))

    async def bob_refunded() -> bool:
        n = await app.pool.fetchval("SELECT count(*) FROM refunds WHERE status = 'applied'")
        return int(n) == 2

    await _until(bob_refunded)
    assert (await app.get("/v1/balance", bob))["credits"] == 0
    # Nothing moved, so no history entry; the operator sees it instead.
    assert [i["kind"] for i in (await app.get("/v1/transactions", bob))["items"]] == [
        "spend",
        "grant",
    ]

    shortfalls = await app.get("/v1/admin/refunds", "ops", admin=True, shortfall="true")
    [item] = shortfalls["items"]
    assert {k: item[k] for k in ("order_id", "user_id", "status", "credits_due")} == {
        "order_id": o2,
        "user_id": bob,
        "status": "applied",
        "credits_due": 100,
    }
    assert (item["credits_taken"], item["shortfall"], item["balance_after"]) == (0, 100, 0)
    assert item["amount"] == {"value": "10.00", "currency": "CNY"}
    assert item["transaction_id"] is None
    pending = await app.get("/v1/admin/refunds", "ops", admin=True, status="pending")
    assert [(i["order_id"], i["credits_due"]) for i in pending["items"]] == [(o3, None)]

    # Newest first, paginated.
    page1 = await app.get("/v1/admin/refunds", "ops", admin=True, limit=2)
    page2 = await app.get(
        "/v1/admin/refunds", "ops", admin=True, limit=2, cursor=page1["next_cursor"]
    )
    assert page2["next_cursor"] is None
    keys = [i["refund_key"] for i in page1["items"] + page2["items"]]
    assert keys == [
        f"alipay:re-bob-{unique_suffix}",
        f"alipay:re-early-{unique_suffix}",
        f"alipay:re-half-{unique_suffix}",
    ]
    only_alice = await app.get("/v1/admin/refunds", "ops", admin=True, user_id=alice)
    assert [i["user_id"] for i in only_alice["items"]] == [alice]

    # CreditsRevokedV1 reaches ledger.events through the outbox, once per applied refund.
    records = await _records(app.settings.topics.ledger_events, kafka_bootstrap, expect=5)
    revoked = [
        Envelope.from_bytes(r.value or b"").payload_as(CreditsRevokedV1)
        for r in records
        if dict(r.headers)["ce_type"] == CreditsRevokedV1.TYPE.encode()
    ]
    assert sorted((e.user_id, e.credits, e.shortfall) for e in revoked) == sorted(
        [(alice, 550, 0), (bob, 0, 100)]
    )


async def test_the_admin_refunds_view_names_what_it_refuses(app: App) -> None:
    r = await app.http.get("/v1/admin/refunds")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
    r = await app.http.get("/v1/admin/refunds", headers=app.auth("alice"))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    admin = app.auth("ops", admin=True)
    r = await app.http.get("/v1/admin/refunds", headers=admin, params={"cursor": "!!"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_request")
    for params in ({"limit": "0"}, {"limit": "101"}, {"status": "lost"}):
        r = await app.http.get("/v1/admin/refunds", headers=admin, params=params)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    r = await app.http.get("/v1/admin/refunds", headers=admin)
    assert (r.status_code, r.json()) == (200, {"items": [], "next_cursor": None})
