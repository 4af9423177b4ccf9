"""The ledger's HTTP API on the real PostgreSQL and Kafka, through the app's own lifespan
(migrations, consumer, outbox relay, spend batcher): balance, history, spending and what each
refuses."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from ledgerkit import LedgerApp, assert_books_balance, envelope, paid_order

from paystream.shared.events import CreditsGrantedV1, CreditsSpentV1, Envelope

pytestmark = pytest.mark.integration

Ledger = LedgerApp


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def _count(ledger: Ledger, sql: str) -> int:
    return int(await ledger.pool.fetchval(sql))


async def test_a_new_user_has_nothing_and_requests_need_a_token(ledger: Ledger) -> None:
    user = _user()
    r = await ledger.http.get("/v1/balance", headers=ledger.auth(user))
    assert r.status_code == 200
    body = r.json()
    assert (body["user_id"], body["credits"]) == (user, 0)
    assert body["balances"] == [{"unit": "credits", "available": 0, "held": 0, "next_expiry": None}]
    r = await ledger.http.get("/v1/transactions", headers=ledger.auth(user))
    assert (r.status_code, r.json()) == (200, {"items": [], "next_cursor": None})
    for method, path in (("GET", "/v1/balance"), ("GET", "/v1/transactions")):
        r = await ledger.http.request(method, path)
        assert (r.status_code, _code(r)) == (401, "unauthorized")
    r = await ledger.http.post("/v1/spend", json={"credits": 1, "reason": "x"})
    assert (r.status_code, _code(r)) == (401, "unauthorized")
    r = await ledger.http.get("/v1/balance", headers={"Authorization": "Bearer not-a-jwt"})
    assert (r.status_code, _code(r)) == (401, "unauthorized")


async def test_spend_debits_and_is_refused_when_the_balance_is_too_low(ledger: Ledger) -> None:
    user = _user()
    await ledger.grant(user, 100)
    r = await ledger.spend(user, 30, "generate image")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {
        "transaction_id",
        "user_id",
        "unit",
        "credits",
        "balance_after",
        "reason",
        "created_at",
        "lots",
    }
    assert body["unit"] == "credits"
    assert [(x["credits"]) for x in body["lots"]] == [30]
    assert (body["user_id"], body["credits"], body["balance_after"], body["reason"]) == (
        user,
        30,
        70,
        "generate image",
    )
    assert "idempotent-replayed" not in r.headers
    assert await ledger.balance(user) == 70

    r = await ledger.spend(user, 71)
    assert (r.status_code, _code(r)) == (409, "insufficient_credits")
    assert r.json()["error"]["details"] == {"balance": 70, "requested": 71, "unit": "credits"}
    r = await ledger.spend(_user(), 1)  # nobody ever granted: no lot at all
    assert (r.status_code, _code(r)) == (409, "insufficient_credits")
    assert await ledger.balance(user) == 70
    assert await _count(ledger, "SELECT count(*) FROM transactions WHERE kind='spend'") == 1

    r = await ledger.spend(user, 70)  # down to exactly zero is allowed
    assert (r.status_code, r.json()["balance_after"]) == (201, 0)

    # Double entry: the books sum to zero, every spent credit went to system:consumption.
    await assert_books_balance(ledger.pool)
    assert (
        await _count(
            ledger, "SELECT sum(amount) FROM postings WHERE account_id = 'system:consumption'"
        )
        == 100
    )


async def test_spend_requires_a_sane_idempotency_key_and_a_valid_body(ledger: Ledger) -> None:
    user = _user()
    await ledger.grant(user, 100)
    r = await ledger.http.post(
        "/v1/spend", headers=ledger.auth(user), json={"credits": 1, "reason": "x"}
    )
    assert (r.status_code, _code(r)) == (400, "idempotency_key_required")
    r = await ledger.http.post(
        "/v1/spend", headers=ledger.auth(user, key=""), json={"credits": 1, "reason": "x"}
    )
    assert (r.status_code, _code(r)) == (400, "idempotency_key_required")
    r = await ledger.spend(user, 1, key="k" * 256)
    assert (r.status_code, _code(r)) == (400, "bad_request")
    assert (await ledger.spend(user, 1, key="k" * 255)).status_code == 201

    for credits, reason in ((0, "x"), (-5, "x"), ("5", "x"), (1.5, "x"), (1, ""), (1, "x" * 201)):
        r = await ledger.spend(user, credits, reason)
        assert (r.status_code, _code(r)) == (422, "validation_error"), (credits, reason)
    r = await ledger.http.post(
        "/v1/spend", headers=ledger.auth(user, key="k-body"), content=b"not json"
    )
    assert (r.status_code, _code(r)) == (422, "validation_error")
    assert await ledger.balance(user) == 99


async def test_the_same_key_replays_and_a_different_body_is_refused(ledger: Ledger) -> None:
    alice, bob = _user(), _user()
    await ledger.grant(alice, 50)
    first = await ledger.spend(alice, 30, "video", key="key-1")
    assert first.status_code == 201

    # The balance is now too low for another 30: the retry must still replay, not refuse.
    again = await ledger.spend(alice, 30, "video", key="key-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"

    for credits, reason in ((31, "video"), (30, "audio")):
        r = await ledger.spend(alice, credits, reason, key="key-1")
        assert (r.status_code, _code(r)) == (422, "idempotency_key_reused")
    assert await ledger.balance(alice) == 20

    # Keys are per user: bob's key-1 is his own request (and he has nothing).
    r = await ledger.spend(bob, 30, "video", key="key-1")
    assert (r.status_code, _code(r)) == (409, "insufficient_credits")
    # A refused spend stores nothing: after a top-up, the same key is evaluated afresh.
    await ledger.grant(bob, 40)
    r = await ledger.spend(bob, 30, "video", key="key-1")
    assert (r.status_code, r.json()["balance_after"]) == (201, 10)


async def test_concurrent_requests_with_the_same_key_spend_once(ledger: Ledger) -> None:
    user = _user()
    await ledger.grant(user, 100)
    rs = await asyncio.gather(*(ledger.spend(user, 10, "race", key="same") for _ in range(10)))
    assert [r.status_code for r in rs] == [201] * 10
    assert len({r.json()["transaction_id"] for r in rs}) == 1
    assert len({r.content for r in rs}) == 1
    assert sum(1 for r in rs if r.headers.get("idempotent-replayed") != "true") == 1
    assert await ledger.balance(user) == 90


async def test_fifty_concurrent_spends_never_overdraw(ledger: Ledger) -> None:
    user = _user()
    await ledger.grant(user, 1000, 100)  # 1100
    rs = await asyncio.gather(*(ledger.spend(user, 30) for _ in range(50)))
    codes = [r.status_code for r in rs]
    assert codes.count(201) == 1100 // 30  # 36 fit
    assert codes.count(409) == 50 - 1100 // 30
    assert all(_code(r) == "insufficient_credits" for r in rs if r.status_code == 409)
    assert await ledger.balance(user) == 1100 - 30 * (1100 // 30)
    # Each success saw its own balance: the balances after are all distinct and consistent.
    afters = sorted((r.json()["balance_after"] for r in rs if r.status_code == 201), reverse=True)
    assert afters == [1100 - 30 * n for n in range(1, 1100 // 30 + 1)]
    await assert_books_balance(ledger.pool)


async def test_history_pages_newest_first_with_a_cursor(ledger: Ledger) -> None:
    user = _user()
    await ledger.grant(user, 100, 20, 5)  # one batch: balance_after 100, 120, 125
    for credits in (1, 2, 3, 4):
        assert (await ledger.spend(user, credits, f"spend {credits}")).status_code == 201
    await ledger.grant(_user(), 7)  # someone else's: never listed

    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await ledger.http.get("/v1/transactions", headers=ledger.auth(user), params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["items"]) == 3
    assert pages == 3
    assert [(i["kind"], i["credits"], i["balance_after"]) for i in items] == [
        ("spend", -4, 115),
        ("spend", -3, 119),
        ("spend", -2, 122),
        ("spend", -1, 124),
        ("grant", 5, 125),
        ("grant", 20, 120),
        ("grant", 100, 100),
    ]
    assert [i["reason"] for i in items[:4]] == ["spend 4", "spend 3", "spend 2", "spend 1"]
    assert all(i["order_id"] is None for i in items[:4])
    assert all(i["order_id"].startswith("order-") for i in items[4:])
    assert set(items[0]) == {
        "id",
        "kind",
        "unit",
        "credits",
        "balance_after",
        "reason",
        "order_id",
        "refund_key",
        "hold_id",
        "actor",
        "lots",
        "created_at",
    }
    assert len({i["id"] for i in items}) == 7

    r = await ledger.http.get("/v1/transactions", headers=ledger.auth(user))
    assert len(r.json()["items"]) == 7  # default limit 20
    assert r.json()["next_cursor"] is None
    r = await ledger.http.get(
        "/v1/transactions", headers=ledger.auth(user), params={"cursor": "garbage!"}
    )
    assert (r.status_code, _code(r)) == (400, "bad_request")
    for limit in (0, 101, "x"):
        r = await ledger.http.get(
            "/v1/transactions", headers=ledger.auth(user), params={"limit": limit}
        )
        assert (r.status_code, _code(r)) == (422, "validation_error")


async def test_only_an_admin_reads_another_users_ledger(ledger: Ledger) -> None:
    alice, bob = _user(), _user()
    await ledger.grant(alice, 42)
    for path in ("/v1/balance", "/v1/transactions"):
        r = await ledger.http.get(path, headers=ledger.auth(bob), params={"user_id": alice})
        assert (r.status_code, _code(r)) == (404, "not_found"), path
        mine = await ledger.http.get(path, headers=ledger.auth(alice), params={"user_id": alice})
        assert mine.status_code == 200
        admin = await ledger.http.get(
            path, headers=ledger.auth("ops", admin=True), params={"user_id": alice}
        )
        assert admin.status_code == 200
        # The same answer (a balance also says the moment it is of).
        assert {k: v for k, v in admin.json().items() if k != "at"} == {
            k: v for k, v in mine.json().items() if k != "at"
        }
    r = await ledger.http.get(
        "/v1/balance", headers=ledger.auth("ops", admin=True), params={"user_id": alice}
    )
    assert (r.json()["user_id"], r.json()["credits"]) == (alice, 42)


async def test_paid_orders_on_kafka_are_credited_and_ledger_events_published(
    ledger: Ledger, kafka_bootstrap: str
) -> None:
    """The running app end to end: a paid order (twice, as when checkout republishes it, and once
    more under another event id) is credited once, a spend follows, and both leave ledger's topic
    through the outbox relay."""
    user, order = _user(), f"order-{uuid.uuid4().hex}"
    paid = paid_order(order, user, 1100, paid_minor=10000)
    await ledger.publish(paid)
    await ledger.publish(paid)
    other = envelope(paid).model_copy(update={"id": uuid.uuid4()})
    await ledger.publish(other)

    deadline = asyncio.get_running_loop().time() + 30
    while await ledger.balance(user) != 1100:
        assert asyncio.get_running_loop().time() < deadline, "payment not credited in time"
        await asyncio.sleep(0.1)
    spent = await ledger.spend(user, 100, "export")
    assert spent.status_code == 201

    consumer = AIOKafkaConsumer(
        ledger.settings.topics.ledger_events,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    envelopes: list[Envelope] = []
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while len(envelopes) < 2 and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                envelopes += [Envelope.from_bytes(r.value or b"") for r in recs]
    finally:
        await consumer.stop()
    assert [e.type for e in envelopes] == [CreditsGrantedV1.TYPE, CreditsSpentV1.TYPE]
    granted = envelopes[0].payload_as(CreditsGrantedV1)
    assert (granted.user_id, granted.order_id, granted.credits, granted.balance_after) == (
        user,
        order,
        1100,
        1100,
    )
    spent_event = envelopes[1].payload_as(CreditsSpentV1)
    assert spent_event.transaction_id == spent.json()["transaction_id"]
    assert (spent_event.credits, spent_event.balance_after) == (100, 1000)
    assert await ledger.balance(user) == 1000

    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
        r = await ledger.http.get(path)
        assert r.status_code == 200, (path, r.text)
    assert (await ledger.http.get("/readyz")).json()["checks"] == {
        "postgres": "ok",
        "kafka": "ok",
    }
    assert await _count(ledger, "SELECT count(*) FROM lots") == 1
