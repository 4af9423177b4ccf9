"""A ledger database from before lots (revision 0002) upgrades in place: every grant becomes a
lot with its history, spends and revocations become entries on the lots they consumed (oldest
first), balances and the books are unchanged, and the upgraded ledger works on."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from ledgerkit import MovableClock, assert_books_balance

from paystream.ledger.books.domain import spend_fingerprint
from paystream.ledger.lots.domain import Allocator
from paystream.ledger.lots.repository import with_credits
from paystream.ledger.spending.batcher import SpendRequest, Spent, spend_batch
from paystream.shared.migrations import upgrade

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


async def _tx(
    conn: asyncpg.Connection,
    kind: str,
    user: str,
    credits: int,
    balance_after: int,
    at: datetime,
    *,
    order: str | None = None,
    key: str | None = None,
    refund_key: str | None = None,
) -> uuid.UUID:
    """What the ledger of revision 0002 wrote: a transaction, its postings, its balances."""
    tx = uuid.uuid4()
    await conn.execute(
        "INSERT INTO transactions (id, kind, user_id, order_id, event_id, idempotency_key,"
        " request_hash, reason, credits, balance_after, created_at, paid_minor, paid_currency,"
        " refund_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $2, $8, $9, $10, $11, $12, $13)",
        tx,
        kind,
        user,
        order,
        uuid.uuid4() if kind != "spend" else None,
        key,
        # What 0002 stored: the fingerprint of {credits, reason} (the reason is the kind here).
        spend_fingerprint(credits, kind) if key else None,
        credits,
        balance_after,
        at,
        credits * 10 if kind == "grant" else None,
        "CNY" if kind == "grant" else None,
        refund_key,
    )
    account = {"grant": "system:issuance", "spend": "system:consumption"}.get(
        kind, "system:refunds"
    )
    sign = 1 if kind == "grant" else -1
    await conn.execute(
        "INSERT INTO accounts (id, balance) VALUES ($1, 0) ON CONFLICT DO NOTHING", f"user:{user}"
    )
    await conn.execute(
        "INSERT INTO postings VALUES ($1, $2, $3), ($1, $4, $5)",
        tx,
        f"user:{user}",
        sign * credits,
        account,
        -sign * credits,
    )
    await conn.execute(
        "UPDATE accounts SET balance = balance + $2 WHERE id = $1", f"user:{user}", sign * credits
    )
    await conn.execute(
        "UPDATE accounts SET balance = balance - $2 WHERE id = $1", account, sign * credits
    )
    return tx


async def test_a_database_from_before_lots_upgrades_in_place(
    fresh_database: Callable[[str, Path | None], Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> None:
    dsn = await fresh_database("ledger_upgrade", None)
    await upgrade(MIGRATIONS, dsn, revision="0002")
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            g1 = await _tx(conn, "grant", "alice", 100, 100, T0, order="o1")
            g2 = await _tx(conn, "grant", "alice", 50, 150, T0 + timedelta(days=1), order="o2")
            s1 = await _tx(conn, "spend", "alice", 120, 30, T0 + timedelta(days=2), key="k1")
            g3 = await _tx(conn, "grant", "alice", 20, 50, T0 + timedelta(days=3), order="o3")
            r1 = await _tx(
                conn,
                "revoke",
                "alice",
                25,
                25,
                T0 + timedelta(days=4),
                order="o2",
                refund_key="stripe:re_1",
            )
            await conn.execute(
                "INSERT INTO refunds (id, refund_key, event_id, order_id, user_id, provider,"
                " provider_refund_id, amount_minor, currency, refunded_at, status, credits_due,"
                " credits_taken, shortfall, balance_after, transaction_id, applied_at)"
                " VALUES ($1, 'stripe:re_1', $2, 'o2', 'alice', 'stripe', 're_1', 250, 'CNY',"
                " $3, 'applied', 25, 25, 0, 25, $4, $3)",
                uuid.uuid4(),
                uuid.uuid4(),
                T0 + timedelta(days=4),
                r1,
            )
            await conn.execute(
                "INSERT INTO refunds (id, refund_key, event_id, order_id, user_id, provider,"
                " provider_refund_id, amount_minor, currency, refunded_at, status)"
                " VALUES ($1, 'stripe:re_early', $2, 'o9', 'bob', 'stripe', 're_early', 1, 'CNY',"
                " $3, 'pending')",
                uuid.uuid4(),
                uuid.uuid4(),
                T0,
            )
            await _tx(conn, "grant", "bob", 7, 7, T0, order="o4")
        history_before = await conn.fetch(
            "SELECT id, kind, credits, balance_after FROM transactions ORDER BY seq"
        )
    finally:
        await conn.close()

    await upgrade(MIGRATIONS, dsn)
    pool = await pool_for(dsn)

    lots = {
        r["id"]: r
        for r in await pool.fetch(
            "SELECT id, user_id, unit, source, credits, remaining, effective_at, expires_at,"
            " validity_rule, cost_minor, cost_currency, order_id, transaction_id FROM lots"
        )
    }
    # Every grant is a lot of its own id, with no expiry (sold without one), its cost recorded.
    assert set(lots) == {g1, g2, g3} | {
        r["id"] for r in history_before if r["kind"] == "grant" and r["credits"] == 7
    }
    assert dict(lots[g1]) | {"remaining": None} == {
        "id": g1,
        "user_id": "alice",
        "unit": "credits",
        "source": "purchase",
        "credits": 100,
        "remaining": None,
        "effective_at": T0,
        "expires_at": None,
        "validity_rule": "none",
        "cost_minor": 1000,
        "cost_currency": "CNY",
        "order_id": "o1",
        "transaction_id": g1,
    }
    # The spend of 120 took the oldest first: all of o1 and 20 of o2; the revocation of 25 then
    # took 25 of o2 (first granted, first consumed); o3 is untouched.
    entries = {
        (r["transaction_id"], r["lot_id"]): (r["kind"], r["delta"], r["at"])
        for r in await pool.fetch("SELECT * FROM lot_entries")
    }
    assert entries == {
        (s1, g1): ("spend", -100, T0 + timedelta(days=2)),
        (s1, g2): ("spend", -20, T0 + timedelta(days=2)),
        (r1, g2): ("revoke", -25, T0 + timedelta(days=4)),
    }
    assert (lots[g1]["remaining"], lots[g2]["remaining"], lots[g3]["remaining"]) == (0, 5, 20)
    # History and the books are unchanged; balances now come from the lots.
    history_after = await pool.fetch(
        "SELECT id, kind, credits, balance_after FROM transactions ORDER BY seq"
    )
    assert [tuple(r) for r in history_after] == [tuple(r) for r in history_before]
    await assert_books_balance(pool)
    assert await pool.fetchval("SELECT unit FROM refunds WHERE refund_key = 'stripe:re_1'") == (
        "credits"
    )
    assert (
        await pool.fetchval("SELECT unit FROM refunds WHERE refund_key = 'stripe:re_early'") is None
    )

    # The upgraded ledger works on: the next spend takes o2's 5 then o3's credits.
    clock = MovableClock(T0 + timedelta(days=5))
    async with pool.acquire() as conn, conn.transaction():
        available = Allocator(await with_credits(conn, "alice"), clock.now()).available
        assert available == 25
        [spent] = await spend_batch(
            conn, [SpendRequest("alice", "credits", 10, "after upgrade", "k2")], clock.now()
        )
    assert isinstance(spent, Spent)
    assert spent.record.lots == ((g2, 5), (g3, 5))
    # A key used before the upgrade still replays its spend.
    async with pool.acquire() as conn, conn.transaction():
        [replayed] = await spend_batch(
            conn, [SpendRequest("alice", "credits", 120, "spend", "k1")], clock.now()
        )
    assert isinstance(replayed, Spent)
    assert (replayed.replayed, replayed.record.id, replayed.record.balance_after) == (True, s1, 30)
    await assert_books_balance(pool)
