"""Refunds end to end in the ledger app, on the real Kafka and PostgreSQL: paid orders and refunds
published to the app's topics are consumed by its own consumer; the revocation
shows in the user's history, CreditsRevokedV1 leaves through the outbox, a refund that cannot
apply is dead-lettered, and operators see shortfalls and pending refunds at
`GET /v1/admin/refunds` (with what it refuses)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from ledgerkit import LedgerApp, paid_order

from paystream.shared.events import (
    CreditsRevokedV1,
    Envelope,
    GrantSpec,
    RefundSucceededV1,
    refund_event_id,
)
from paystream.shared.topics import dlq

pytestmark = pytest.mark.integration

App = LedgerApp


@pytest.fixture
def app(ledger: LedgerApp) -> LedgerApp:
    return ledger


def _paid(order: str, user: str, credits: int, amount: int) -> Envelope:
    paid = paid_order(
        order, user, GrantSpec(quantity=credits, cost_minor=amount), paid_minor=amount
    )
    return Envelope.wrap(paid, source="paystream/test", subject=user)


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
    # The grants first: the two topics are consumed in no fixed order, and a refund consumed
    # before its grant waits (pending) instead of being assessed at once.
    for env in (_paid(o1, alice, 1100, 10_000), _paid(o2, bob, 100, 1_000)):
        await app.publish(env)

    async def granted() -> bool:
        return (await app.get("/v1/balance", alice))["credits"] == 1100 and (
            await app.get("/v1/balance", bob)
        )["credits"] == 100

    await _until(granted)

    async def refunds_recorded(n: int) -> Callable[[], Awaitable[bool]]:
        async def done() -> bool:
            return int(await app.pool.fetchval("SELECT count(*) FROM refunds")) == n

        return done

    # One after the other, so that each has its own moment ("newest first" below).
    await app.publish(_refunded(o1, alice, 5_000, f"re-half-{unique_suffix}"))
    await _until(await refunds_recorded(1))
    # Another deployment's order (or a payment not seen yet): waits, pending.
    await app.publish(_refunded(o3, bob, 1_000, f"re-early-{unique_suffix}"))
    await _until(await refunds_recorded(2))
    # A refund in USD of a CNY payment: refused, to the DLQ.
    await app.publish(_refunded(o1, alice, 100, f"re-usd-{unique_suffix}", currency="USD"))
    # The same refund announced again (checkout and the provider's notification).
    await app.publish(_refunded(o1, alice, 5_000, f"re-half-{unique_suffix}"))
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
    r = await app.spend(bob, 100, "render", key="k1")
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


async def test_refunding_an_overpayments_difference_takes_no_credit_back(
    app: App, unique_suffix: str
) -> None:
    # 100 credits for 10.00; 15.00 paid and accepted as an overpayment (checkout then refunds
    # the 5.00 difference). That refund concerns no credit; a later refund of half the order
    # takes half the credits, as invoicing's credit notes count them.
    carol, order = f"carol-{unique_suffix}", f"over-{unique_suffix}"
    paid = paid_order(order, carol, GrantSpec(quantity=100, cost_minor=1_000)).model_copy(
        update={"paid_minor": 1_500, "review": "overpaid"}
    )
    await app.publish(Envelope.wrap(paid, source="paystream/test", subject=carol))
    await app.publish(_refunded(order, carol, 500, f"re-diff-{unique_suffix}"))

    def applied(n: int) -> Callable[[], Awaitable[bool]]:
        async def done() -> bool:
            got = await app.pool.fetchval(
                "SELECT count(*) FROM refunds WHERE order_id = $1 AND status = 'applied'", order
            )
            return int(got) == n

        return done

    await _until(applied(1))
    assert (await app.get("/v1/balance", carol))["credits"] == 100
    await app.publish(_refunded(order, carol, 500, f"re-half-{unique_suffix}"))
    await _until(applied(2))
    assert (await app.get("/v1/balance", carol))["credits"] == 50
