"""Races on the same lots, on the real PostgreSQL: spends, holds, the expiry job and refunds in
concurrent transactions. Whatever the interleaving, a lot never goes below zero, no credit is
spent twice, nothing is spent or held after its lot expired, and the books balance."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from ledgerkit import (
    LedgerApp,
    MovableClock,
    apply,
    assert_books_balance,
    consumed,
    grant,
    paid_order,
    refunded,
)

from paystream.ledger.consumers import ledger_handler
from paystream.ledger.errors import InsufficientCredits
from paystream.ledger.expiry.service import expire_lots
from paystream.ledger.holds import service as holds
from paystream.ledger.spending.batcher import SpendRequest, Spent, spend_batch
from paystream.shared.auth import Principal
from paystream.shared.events import GrantSpec

pytestmark = pytest.mark.integration


def _spend(user: str, credits: int) -> SpendRequest:
    return SpendRequest(user, "credits", credits, "race", uuid.uuid4().hex)


async def _after_expiry(pool: asyncpg.Pool) -> list[Any]:
    """Spends and holds that took credits of a lot at or after its expiry (must be none)."""
    return list(
        await pool.fetch(
            "SELECT e.* FROM lot_entries e JOIN lots l ON l.id = e.lot_id"
            " WHERE e.kind IN ('spend', 'hold') AND e.at >= l.expires_at"
        )
    )


async def test_fifty_concurrent_spends_and_holds_on_one_user_never_overdraw_or_touch_expired(
    ledger: LedgerApp,
) -> None:
    """Over HTTP, while the sandbox clock passes the expiry of the lot consumed first."""
    user = f"user-{uuid.uuid4().hex[:8]}"
    soon, never = await ledger.grant(
        user,
        GrantSpec(quantity=300, validity="PT1H", cost_minor=300),
        GrantSpec(quantity=200, cost_minor=200),
    )
    rnd = random.Random(9)
    asks = [("spend" if rnd.random() < 0.6 else "hold", rnd.randint(5, 25)) for _ in range(50)]

    async def one(kind: str, credits: int) -> tuple[str, int, int]:
        if kind == "spend":
            r = await ledger.spend(user, credits)
        else:
            r = await ledger.http.post(
                "/v1/holds",
                headers=ledger.auth(user, key=uuid.uuid4().hex),
                json={"credits": credits, "ttl_seconds": 7200},
            )
        return kind, credits, r.status_code

    async def expire_midway() -> None:
        await asyncio.sleep(0.05)
        await ledger.advance("PT1H")

    results, _ = await asyncio.gather(
        asyncio.gather(*(one(k, c) for k, c in asks)), expire_midway()
    )
    assert {s for _, _, s in results} <= {201, 409}
    taken = sum(c for _, c, s in results if s == 201)
    # Never more than the lots held, and nothing of the expired lot after its expiry.
    assert taken <= 500
    assert await _after_expiry(ledger.pool) == []
    lots = {r["id"]: r for r in await ledger.pool.fetch("SELECT id, remaining, held FROM lots")}
    spent_or_held = (300 - lots[soon]["remaining"] + lots[soon]["held"]) + (
        200 - lots[never]["remaining"] + lots[never]["held"]
    )
    assert spent_or_held == taken
    bal = {b["unit"]: b for b in (await ledger.get("/v1/balance", user))["balances"]}["credits"]
    # After the expiry only the lot without one counts; held credits stay held.
    assert bal["available"] == lots[never]["remaining"] - lots[never]["held"]
    await assert_books_balance(ledger.pool)


async def test_a_spend_holding_a_lot_delays_its_expiry_and_never_sees_it_expired(
    pool: asyncpg.Pool,
) -> None:
    clock = MovableClock()
    [lot] = await grant(
        pool, clock, "alice", GrantSpec(quantity=100, validity="PT1H", cost_minor=0)
    )
    clock.advance(timedelta(minutes=59, seconds=59))
    async with pool.acquire() as spender:
        tx = spender.transaction()
        await tx.start()
        [done] = await spend_batch(spender, [_spend("alice", 30)], clock.now())
        assert isinstance(done, Spent)
        clock.advance(timedelta(seconds=2))  # the lot expires while the spend is uncommitted
        # The job skips the lot the spend holds; nothing expires, nothing waits.
        assert await asyncio.wait_for(expire_lots(pool, clock), timeout=5) == 0
        # A spend now does not see the lot at all: it expired.
        async with pool.acquire() as late, late.transaction():
            [refused] = await spend_batch(late, [_spend("alice", 1)], clock.now())
        assert not isinstance(refused, Spent)
        await tx.commit()
    assert await expire_lots(pool, clock) == 1
    row = await pool.fetchrow("SELECT remaining, expired FROM lots WHERE id = $1", lot)
    assert (row["remaining"], row["expired"]) == (0, 70)
    assert await _after_expiry(pool) == []
    await assert_books_balance(pool)


async def test_spends_of_one_user_in_concurrent_batches_never_spend_a_credit_twice(
    pool: asyncpg.Pool,
) -> None:
    clock = MovableClock()
    await grant(pool, clock, "alice", 50, 50)
    await grant(pool, clock, "bob", 10)

    async def batch(reqs: list[SpendRequest]) -> list[Any]:
        async with pool.acquire() as conn, conn.transaction():
            return await spend_batch(conn, reqs, clock.now())

    batches = [[_spend("alice", 7), _spend("bob", 3), _spend("alice", 9)] for _ in range(12)]
    results = await asyncio.gather(*(batch(b) for b in batches))
    spent = [
        (req.user_id, req.credits)
        for reqs, outcomes in zip(batches, results, strict=True)
        for req, o in zip(reqs, outcomes, strict=True)
        if isinstance(o, Spent)
    ]
    alice = sum(n for u, n in spent if u == "alice")
    bob = sum(n for u, n in spent if u == "bob")
    assert alice <= 100
    assert bob <= 10
    left = {
        r["user_id"]: r["n"]
        for r in await pool.fetch(
            "SELECT user_id, sum(remaining)::bigint AS n FROM lots GROUP BY user_id"
        )
    }
    assert (left["alice"], left["bob"]) == (100 - alice, 10 - bob)
    assert bob == 9  # three of bob's spends fit, the rest were refused
    await assert_books_balance(pool)


async def test_a_refund_and_spends_racing_on_the_refunded_lot(pool: asyncpg.Pool) -> None:
    """The refund's transaction locks the user's lots first; spends wait, then see what is left.
    Whichever goes first, the refund takes what is available and reports the rest as shortfall,
    and no credit is both spent and revoked."""
    clock = MovableClock()
    await apply(pool, clock, [paid_order("o1", "alice", 100, paid_minor=1000, paid_at=clock.now())])
    async with pool.acquire() as consumer:
        tx = consumer.transaction()
        await tx.start()
        await ledger_handler(lambda: clock)(
            consumer, [consumed(refunded("o1", "alice", 500, "re1"), "payments.events")]
        )

        async def spend_now() -> Any:
            async with pool.acquire() as conn, conn.transaction():
                return (await spend_batch(conn, [_spend("alice", 40)], clock.now()))[0]

        waiting = asyncio.create_task(spend_now())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the refund holds alice's lots
        await tx.commit()
        first = await waiting
    assert isinstance(first, Spent)  # 50 were left after the refund took 50
    async with pool.acquire() as conn, conn.transaction():
        [second] = await spend_batch(conn, [_spend("alice", 40)], clock.now())
    assert not isinstance(second, Spent)  # 10 left
    await apply(pool, clock, [consumed(refunded("o1", "alice", 500, "re2"), "payments.events")])
    row = await pool.fetchrow(
        "SELECT credits_due, credits_taken, shortfall FROM refunds WHERE refund_key LIKE '%:re2'"
    )
    assert (row["credits_due"], row["credits_taken"], row["shortfall"]) == (50, 10, 40)
    assert await pool.fetchval("SELECT sum(remaining) FROM lots") == 0
    await assert_books_balance(pool)


async def test_a_refund_never_takes_held_credits_and_a_capture_after_it_still_works(
    pool: asyncpg.Pool,
) -> None:
    clock = MovableClock()
    await apply(pool, clock, [paid_order("o1", "alice", 100, paid_minor=1000, paid_at=clock.now())])
    alice = Principal("alice")
    hold = await holds.place_hold(
        pool,
        clock,
        user_id="alice",
        unit="credits",
        credits=70,
        ttl=timedelta(hours=1),
        reason="job",
        idempotency_key="h1",
    )
    await apply(pool, clock, [consumed(refunded("o1", "alice", 1000, "re-all"), "payments.events")])
    row = await pool.fetchrow("SELECT credits_taken, shortfall FROM refunds")
    assert (row["credits_taken"], row["shortfall"]) == (30, 70)
    captured = await holds.capture(pool, clock, hold_id=hold.hold.id, credits=70, principal=alice)
    assert (captured.hold.status, captured.hold.captured) == ("captured", 70)
    assert await pool.fetchval("SELECT remaining FROM lots") == 0
    await assert_books_balance(pool)


async def test_holds_racing_for_the_last_credits_reserve_them_once(pool: asyncpg.Pool) -> None:
    clock = MovableClock()
    await grant(pool, clock, "alice", 100)

    async def hold(i: int) -> bool:
        try:
            await holds.place_hold(
                pool,
                clock,
                user_id="alice",
                unit="credits",
                credits=30,
                ttl=timedelta(minutes=5),
                reason="race",
                idempotency_key=f"h{i}",
            )
        except InsufficientCredits:
            return False
        return True

    won = await asyncio.gather(*(hold(i) for i in range(10)))
    assert sum(won) == 3
    assert await pool.fetchval("SELECT held FROM lots") == 90
    await assert_books_balance(pool)
