"""A ledger database restored from `ledger.events` is the one that was lost: the same lots,
entries, transactions (ids, times, balances), postings, holds, refunds, notices and thresholds,
after grants, spends, holds captured, released and timed out, expiries, an operator's grant and
void, a refund and a threshold. A second restore changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from ledgerkit import LedgerApp, assert_books_balance, paid_order, refunded

from paystream.ledger.journal.restore import restore
from paystream.shared.events import GrantSpec

pytestmark = pytest.mark.integration

# What a restore must bring back, table by table, in an order that does not depend on insertion
# (seq columns are left out: they number rows in insertion order, which a restore may change).
DUMP = {
    "lots": "SELECT id, user_id, unit, source, credits, remaining, held, effective_at,"
    " expires_at, validity_rule, priority, cost_minor, cost_currency, order_id, order_line,"
    " transaction_id, created_at, expired_at, expired, voided_at FROM lots ORDER BY id",
    "lot_entries": "SELECT * FROM lot_entries ORDER BY transaction_id, lot_id",
    "transactions": "SELECT id, kind, user_id, unit, order_id, event_id, idempotency_key,"
    " request_hash, reason, credits, balance_after, created_at, paid_minor, paid_currency,"
    " refund_key, hold_id, actor, cost_minor, cost_currency FROM transactions ORDER BY id",
    "postings": "SELECT * FROM postings ORDER BY transaction_id, account_id",
    "holds": "SELECT id, user_id, unit, credits, captured, released, status, reason, expires_at,"
    " idempotency_key, request_hash, transaction_id, created_at, settled_at FROM holds"
    " ORDER BY id",
    "hold_allocations": "SELECT * FROM hold_allocations ORDER BY hold_id, position",
    "refunds": "SELECT id, refund_key, event_id, order_id, user_id, refund_id, provider,"
    " provider_refund_id, amount_minor, currency, reason, refunded_at, received_at, status,"
    " credits_due, credits_taken, shortfall, balance_after, transaction_id, applied_at,"
    " rejection, unit FROM refunds WHERE status <> 'pending' ORDER BY id",
    "lot_notices": "SELECT lot_id, notice FROM lot_notices ORDER BY lot_id, notice",
    "balance_thresholds": "SELECT user_id, unit, threshold, below, updated_by"
    " FROM balance_thresholds ORDER BY user_id, unit",
    # Which payment paid each order: a refund of another payment of it takes nothing back.
    "order_payments": "SELECT order_id, provider_payment_id FROM order_payments ORDER BY order_id",
    "accounts": "SELECT id FROM accounts ORDER BY id",
    "units": "SELECT name FROM units ORDER BY name",
}


async def dump(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    return {name: [tuple(r) for r in await pool.fetch(sql)] for name, sql in DUMP.items()}


async def _until_published(ledger: LedgerApp) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while await ledger.pool.fetchval("SELECT count(*) FROM outbox"):
        assert asyncio.get_running_loop().time() < deadline, "outbox not drained"
        await asyncio.sleep(0.1)


async def _hold(ledger: LedgerApp, user: str, credits: int, ttl: int = 600) -> str:
    r = await ledger.http.post(
        "/v1/holds",
        headers=ledger.auth(user, key=uuid.uuid4().hex),
        json={"credits": credits, "ttl_seconds": ttl},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["hold_id"])


async def test_a_lost_database_comes_back_identical_from_the_journal(
    ledger: LedgerApp,
    fresh_database: Callable[[str, Path | None], Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> None:
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    # Grants through the consumer (orders.events), with several lots, units and validities.
    await ledger.publish(
        paid_order(
            "r-o1",
            alice,
            GrantSpec(quantity=1000, validity="P1M", cost_minor=9000),
            GrantSpec(unit="receives", quantity=5, cost_minor=1000),
            paid_minor=10_000,
            provider_payment_id="pi_r-o1",
        )
    )
    await ledger.publish(
        paid_order("r-o2", bob, 300, paid_minor=3000, provider_payment_id="pi_r-o2")
    )
    await ledger.publish(paid_order("r-o3", alice, GrantSpec(quantity=50, cost_minor=500)))

    async def granted() -> bool:
        return int(await ledger.pool.fetchval("SELECT count(*) FROM lots")) == 4

    deadline = asyncio.get_running_loop().time() + 30
    while not await granted():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)

    r = await ledger.http.put(
        "/v1/balance-thresholds/credits", headers=ledger.auth(alice), json={"threshold": 500}
    )
    assert r.status_code == 200
    for credits in (100, 450):
        assert (await ledger.spend(alice, credits)).status_code == 201
    assert (await ledger.spend(alice, 2, unit="receives")).status_code == 201
    captured = await _hold(ledger, alice, 100)
    r = await ledger.http.post(
        f"/v1/holds/{captured}/capture", headers=ledger.auth(alice), json={"credits": 60}
    )
    assert r.status_code == 200
    released = await _hold(ledger, bob, 30)
    r = await ledger.http.post(f"/v1/holds/{released}/release", headers=ledger.auth(bob))
    assert r.status_code == 200
    await _hold(ledger, bob, 20, ttl=60)  # times out below
    r = await ledger.http.post(
        "/v1/admin/grants",
        headers=ledger.auth("ops", admin=True, key="g1"),
        json={"user_id": bob, "credits": 25, "source": "promotion", "reason": "sorry"},
    )
    assert r.status_code == 201
    lots = (await ledger.get("/v1/lots", bob))["items"]
    promo = next(x["id"] for x in lots if x["source"] == "promotion")
    r = await ledger.http.post(
        f"/v1/admin/lots/{promo}/void",
        headers=ledger.auth("ops", admin=True, key="v1"),
        json={"reason": "mistake"},
    )
    assert r.status_code == 200
    await ledger.publish(refunded("r-o2", bob, 1000, "re-r1"))
    await ledger.publish(refunded("r-elsewhere", bob, 1000, "re-early"))  # stays pending

    async def refunds_seen() -> bool:
        return int(await ledger.pool.fetchval("SELECT count(*) FROM refunds")) == 2

    while not await refunds_seen():
        assert asyncio.get_running_loop().time() < deadline + 30
        await asyncio.sleep(0.1)
    # A month later: the P1M lot expires, bob's last hold timed out, notices went out before.
    await ledger.advance("P27D")
    assert (await ledger.run_jobs())["holds_released"] == 1
    await ledger.advance("P5D")
    assert (await ledger.run_jobs())["lots_expired"] == 1
    await _until_published(ledger)
    await assert_books_balance(ledger.pool)
    before = await dump(ledger.pool)
    # The payments OrderPaidV1 named are kept, and come back from the journal with the rest.
    assert {("r-o1", "pi_r-o1"), ("r-o2", "pi_r-o2")} <= set(before["order_payments"])
    assert len(before["lot_notices"]) >= 1
    assert {r[6] for r in before["holds"]} == {"captured", "released", "expired"}

    # The database is lost: restore a new one from the topic.
    dsn = await fresh_database("ledger_restored", None)
    settings = ledger.settings.model_copy(update={"database": dsn.rsplit("/", 1)[1]})
    restored = await restore(settings)
    assert restored.unresolved == []
    assert restored.skipped == 0
    pool = await pool_for(dsn)
    after = await dump(pool)
    for table in DUMP:
        assert after[table] == before[table], table
    await assert_books_balance(pool)

    # Restoring again changes nothing.
    again = await restore(settings)
    assert again.applied == 0
    assert await dump(pool) == after
