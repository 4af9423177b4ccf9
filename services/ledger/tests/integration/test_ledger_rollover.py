"""A plan's rollover on the real PostgreSQL: at a renewal, what the ended period's allowance left
carries into the new period as a `rollover` lot, up to the plan's cap, expiring with the new
allowance; nothing without a cap; the same carry whether the expiry job ran first or the ledger's
clock is a moment behind; a replay carries nothing twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from ledgerkit import MovableClock, apply, assert_books_balance, consumed, paid_order

from paystream.ledger.expiry.service import run_jobs
from paystream.ledger.spending.batcher import SpendRequest, Spent, spend_batch
from paystream.shared.events import (
    CreditsExpiredV1,
    CreditsGrantedV1,
    Envelope,
    GrantSpec,
    OrderPaidV1,
    PlanPeriodV1,
)

pytestmark = pytest.mark.integration

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
MAY = datetime(2026, 5, 1, tzinfo=UTC)


def _allowance(
    order: str,
    user: str,
    start: datetime,
    end: datetime,
    *,
    kind: str,
    cap: int | None,
    credits: int = 20,
) -> OrderPaidV1:
    """A plan period's OrderPaidV1: its allowance lot expires at the period's end."""
    base = paid_order(
        order,
        user,
        GrantSpec(
            unit="receives",
            quantity=credits,
            source="plan_allowance",
            expires_at=end,
            cost_minor=2900,
        ),
        paid_at=start,
    )
    plan = PlanPeriodV1(
        subscription_id="sub-1",
        plan_id="pro",
        kind=kind,  # type: ignore[arg-type]
        period_start=start,
        period_end=end,
        rollover_cap=cap,
    )
    return base.model_copy(update={"plan": plan})


async def _spend(pool: asyncpg.Pool, user: str, credits: int, at: datetime) -> None:
    async with pool.acquire() as conn, conn.transaction():
        [outcome] = await spend_batch(
            conn, [SpendRequest(user, "receives", credits, "receive", uuid.uuid4().hex)], at
        )
    assert isinstance(outcome, Spent)


async def _lots(pool: asyncpg.Pool, user: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT source, credits, remaining, expired, expires_at, order_id FROM lots"
        " WHERE user_id = $1 ORDER BY seq",
        user,
    )
    return [dict(r) for r in rows]


async def _available(pool: asyncpg.Pool, user: str, at: datetime) -> int:
    return int(
        await pool.fetchval(
            "SELECT coalesce(sum(remaining - held), 0) FROM lots WHERE user_id = $1"
            " AND effective_at <= $2 AND (expires_at IS NULL OR expires_at > $2)",
            user,
            at,
        )
    )


async def _outbox(pool: asyncpg.Pool) -> list[Envelope]:
    rows = await pool.fetch("SELECT payload FROM outbox ORDER BY id")
    return [Envelope.from_bytes(bytes(r["payload"])) for r in rows]


async def _march_then_april(
    pool: asyncpg.Pool, clock: MovableClock, *, spent: int, cap: int | None
) -> str:
    user = f"u-{uuid.uuid4().hex[:8]}"
    clock.at = MARCH + timedelta(hours=1)
    march = _allowance(f"mar-{user}", user, MARCH, APRIL, kind="subscription", cap=cap)
    await apply(pool, clock, [march])
    if spent:
        await _spend(pool, user, spent, clock.now())
    clock.at = APRIL + timedelta(minutes=5)
    await apply(pool, clock, [_allowance(f"apr-{user}", user, APRIL, MAY, kind="renewal", cap=cap)])
    return user


async def test_what_the_period_left_carries_over_up_to_the_cap(pool: asyncpg.Pool) -> None:
    clock = MovableClock()
    user = await _march_then_april(pool, clock, spent=5, cap=10)
    lots = await _lots(pool, user)
    assert [(x["source"], x["credits"], x["remaining"], x["expired"]) for x in lots] == [
        ("plan_allowance", 20, 0, 15),  # 15 left in March: its expiry written by the renewal
        ("rollover", 10, 10, 0),  # the cap
        ("plan_allowance", 20, 20, 0),
    ]
    assert lots[1]["expires_at"] == lots[2]["expires_at"] == MAY
    assert lots[1]["order_id"] is None  # the renewal's refund never revokes a courtesy carry
    assert await _available(pool, user, clock.now()) == 30
    assert await _available(pool, user, MAY) == 0  # the carry ends with the new period
    await assert_books_balance(pool)

    envs = await _outbox(pool)
    granted = [e.payload_as(CreditsGrantedV1) for e in envs if e.type == CreditsGrantedV1.TYPE]
    carried = [g for g in granted if g.lot is not None and g.lot.source == "rollover"]
    assert [(g.credits, g.reason, g.order_id, g.balance_after) for g in carried] == [
        (10, "rollover", f"apr-{user}", 10)
    ]
    expired = [e.payload_as(CreditsExpiredV1) for e in envs if e.type == CreditsExpiredV1.TYPE]
    assert [(x.credits, x.expires_at) for x in expired] == [(15, APRIL)]


async def test_less_than_the_cap_left_carries_what_is_left(pool: asyncpg.Pool) -> None:
    clock = MovableClock()
    user = await _march_then_april(pool, clock, spent=17, cap=10)
    assert [(x["source"], x["credits"]) for x in await _lots(pool, user)][1:] == [
        ("rollover", 3),
        ("plan_allowance", 20),
    ]
    assert await _available(pool, user, clock.now()) == 23


async def test_nothing_carries_without_a_cap_or_when_all_was_spent(pool: asyncpg.Pool) -> None:
    clock = MovableClock()
    user = await _march_then_april(pool, clock, spent=5, cap=None)
    lots = await _lots(pool, user)
    assert [x["source"] for x in lots] == ["plan_allowance", "plan_allowance"]
    # Without a rollover the renewal leaves March's lot to the expiry job, as before.
    assert (lots[0]["remaining"], lots[0]["expired"]) == (15, 0)
    assert await _available(pool, user, clock.now()) == 20

    spent_all = await _march_then_april(pool, clock, spent=20, cap=10)
    assert [x["source"] for x in await _lots(pool, spent_all)] == [
        "plan_allowance",
        "plan_allowance",
    ]
    await assert_books_balance(pool)


async def test_the_carry_is_the_same_when_the_expiry_job_ran_first(pool: asyncpg.Pool) -> None:
    clock = MovableClock()
    user = f"u-{uuid.uuid4().hex[:8]}"
    clock.at = MARCH + timedelta(hours=1)
    await apply(pool, clock, [_allowance("o-mar", user, MARCH, APRIL, kind="renewal", cap=10)])
    await _spend(pool, user, 12, clock.now())
    clock.at = APRIL + timedelta(minutes=1)
    assert (await run_jobs(pool, clock)).lots_expired == 1
    clock.at = APRIL + timedelta(minutes=5)
    await apply(pool, clock, [_allowance("o-apr", user, APRIL, MAY, kind="renewal", cap=10)])
    lots = await _lots(pool, user)
    assert [(x["source"], x["credits"], x["expired"]) for x in lots] == [
        ("plan_allowance", 20, 8),
        ("rollover", 8, 0),
        ("plan_allowance", 20, 0),
    ]
    assert len([e for e in await _outbox(pool) if e.type == CreditsExpiredV1.TYPE]) == 1
    await assert_books_balance(pool)


async def test_a_ledger_clock_a_moment_behind_cannot_spend_what_was_carried(
    pool: asyncpg.Pool,
) -> None:
    """Checkout started April; the ledger's clock still reads March 31 23:59: March's allowance
    ends with the carry (its expiry written now), so its credits are never spent twice."""
    clock = MovableClock()
    user = f"u-{uuid.uuid4().hex[:8]}"
    clock.at = MARCH + timedelta(hours=1)
    await apply(pool, clock, [_allowance("o-mar", user, MARCH, APRIL, kind="renewal", cap=50)])
    clock.at = APRIL - timedelta(minutes=1)
    await apply(pool, clock, [_allowance("o-apr", user, APRIL, MAY, kind="renewal", cap=50)])
    lots = await _lots(pool, user)
    assert [(x["source"], x["remaining"], x["expired"]) for x in lots] == [
        ("plan_allowance", 0, 20),
        ("rollover", 20, 0),
        ("plan_allowance", 20, 0),
    ]
    assert await _available(pool, user, clock.now()) == 40  # both lots start at the ledger's now
    await assert_books_balance(pool)


async def test_a_replayed_renewal_carries_nothing_twice(pool: asyncpg.Pool) -> None:
    clock = MovableClock()
    user = await _march_then_april(pool, clock, spent=5, cap=10)
    before = await _lots(pool, user)
    renewal = _allowance(f"apr-{user}", user, APRIL, MAY, kind="renewal", cap=10)
    # The same event again (a redelivery under a new envelope id, as a replay from the topic).
    again = consumed(renewal)
    replayed = consumed(again.envelope.model_copy(update={"id": uuid.uuid4()}))
    clock.advance(timedelta(days=3))
    await apply(pool, clock, [replayed])
    assert await _lots(pool, user) == before
    await assert_books_balance(pool)


async def test_a_first_period_or_an_upgrade_carries_nothing(pool: asyncpg.Pool) -> None:
    """Only a period that continues the same subscription (a renewal, an annual plan's next month)
    ends the allowance before it; a first period or an upgrade's top-up leaves it alone."""
    clock = MovableClock()
    user = f"u-{uuid.uuid4().hex[:8]}"
    clock.at = MARCH + timedelta(hours=1)
    await apply(pool, clock, [_allowance("o-mar", user, MARCH, APRIL, kind="allowance", cap=10)])
    clock.at = APRIL + timedelta(minutes=5)
    for kind in ("subscription", "upgrade"):
        await apply(
            pool, clock, [_allowance(f"o-{kind}", user, APRIL, MAY, kind=kind, cap=10, credits=5)]
        )
    assert [x["source"] for x in await _lots(pool, user)] == ["plan_allowance"] * 3
    clock.at = APRIL + timedelta(minutes=6)
    await apply(pool, clock, [_allowance("o-apr", user, APRIL, MAY, kind="allowance", cap=10)])
    assert [(x["source"], x["credits"]) for x in await _lots(pool, user)][-2:] == [
        ("rollover", 10),
        ("plan_allowance", 20),
    ]
    await assert_books_balance(pool)
