"""Granting lots from paid orders on the real PostgreSQL: exactly once per order line across
duplicate events and replays, balance_after in record order, each lot with its unit, validity,
priority and cost, double entry kept, CreditsGrantedV1 in the outbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from ledgerkit import MovableClock, apply, assert_books_balance, consumed, envelope, paid_order

from paystream.ledger.consumers import ledger_handler
from paystream.ledger.errors import ConcurrentGrant
from paystream.ledger.lots.service import grant_orders, order_grants
from paystream.shared.events import (
    CreditsGrantedV1,
    Envelope,
    GrantSpec,
    InvalidEvent,
    OrderCreatedV1,
    PaymentSucceededV1,
    order_paid_event_id,
)
from paystream.shared.topics import LEDGER_EVENTS

pytestmark = pytest.mark.integration


async def _available(pool: asyncpg.Pool) -> dict[tuple[str, str], int]:
    rows = await pool.fetch(
        "SELECT user_id, unit, sum(remaining - held)::bigint AS n FROM lots GROUP BY 1, 2"
    )
    return {(r["user_id"], r["unit"]): r["n"] for r in rows}


async def _system(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT account_id, sum(amount)::bigint AS n FROM postings"
        " WHERE account_id LIKE 'system:%' GROUP BY 1"
    )
    return {r["account_id"]: r["n"] for r in rows}


async def test_a_batch_grants_each_order_once_with_balance_after_in_record_order(
    pool: asyncpg.Pool,
) -> None:
    clock = MovableClock()
    order_created = OrderCreatedV1(
        order_id="o-x",
        user_id="alice",
        package_id="standard",
        credits=1100,
        amount_minor=10000,
        currency="CNY",
        payment_method="stripe_checkout",
        created_at=clock.now(),
    )
    payment = PaymentSucceededV1(
        order_id="o-y",
        user_id="alice",
        credits=500,
        amount_minor=5000,
        currency="CNY",
        provider="stripe",
        provider_event_id="evt_y",
        paid_at=clock.now(),
    )
    o1 = paid_order("o1", "alice", 100, paid_at=clock.now())
    batch = [
        consumed(o1),
        consumed(paid_order("o2", "bob", 50, paid_at=clock.now())),
        consumed(order_created),  # not a paid order: ignored
        consumed(payment, "payments.events"),  # a payment alone grants nothing
        # The same order under another event id (checkout republished it): one grant still.
        consumed(envelope(o1).model_copy(update={"id": uuid.uuid4()})),
        consumed(paid_order("o3", "alice", 20, paid_at=clock.now())),
        consumed(paid_order("o4", "alice", 5, paid_at=clock.now())),
        consumed(paid_order("o5", "bob", 7, paid_at=clock.now())),
    ]
    await apply(pool, clock, batch)

    assert await _available(pool) == {("alice", "credits"): 125, ("bob", "credits"): 57}
    assert await _system(pool) == {"system:issuance": -182}
    rows = await pool.fetch(
        "SELECT user_id, order_id, credits, balance_after, event_id FROM transactions ORDER BY seq"
    )
    assert [(r["user_id"], r["order_id"], r["credits"], r["balance_after"]) for r in rows] == [
        ("alice", "o1", 100, 100),
        ("bob", "o2", 50, 50),
        ("alice", "o3", 20, 120),
        ("alice", "o4", 5, 125),
        ("bob", "o5", 7, 57),
    ]
    assert rows[0]["event_id"] == order_paid_event_id("o1")  # the first event for o1 won
    await assert_books_balance(pool)

    outbox = await pool.fetch("SELECT topic, key, payload, headers FROM outbox ORDER BY id")
    assert all(r["headers"]["ce_type"] == CreditsGrantedV1.TYPE for r in outbox)
    # The outbox keeps the logical topic; the relay adds the deployment's prefix.
    assert [(r["topic"], r["key"]) for r in outbox] == [
        (LEDGER_EVENTS, "alice"),
        (LEDGER_EVENTS, "bob"),
        (LEDGER_EVENTS, "alice"),
        (LEDGER_EVENTS, "alice"),
        (LEDGER_EVENTS, "bob"),
    ]
    events = [Envelope.from_bytes(bytes(r["payload"])) for r in outbox]
    granted = [e.payload_as(CreditsGrantedV1) for e in events]
    assert [(g.order_id, g.credits, g.balance_after, g.unit) for g in granted] == [
        ("o1", 100, 100, "credits"),
        ("o2", 50, 50, "credits"),
        ("o3", 20, 120, "credits"),
        ("o4", 5, 125, "credits"),
        ("o5", 7, 57, "credits"),
    ]
    assert all(e.subject == g.user_id for e, g in zip(events, granted, strict=True))
    assert all(
        str(e.id) == g.transaction_id and g.lot is not None
        for e, g in zip(events, granted, strict=True)
    )


async def test_later_events_for_granted_orders_and_replays_change_nothing(
    pool: asyncpg.Pool,
) -> None:
    clock = MovableClock()
    first = [
        consumed(paid_order("o1", "alice", 100, paid_at=clock.now())),
        consumed(paid_order("o2", "alice", 30, paid_at=clock.now())),
    ]
    await apply(pool, clock, first)
    before = await _available(pool)

    # The same batch again (redelivery): the inbox drops it.
    await apply(pool, clock, first)
    # A later, different event for an already granted order: a new event id, so only the order
    # line's key can refuse it.
    again = [
        consumed(envelope(c.envelope.payload()).model_copy(update={"id": uuid.uuid4()}))
        for c in first
    ]
    await apply(pool, clock, again)
    # And the handler itself, without the inbox, on the original events: still nothing.
    async with pool.acquire() as conn, conn.transaction():
        await ledger_handler(lambda: clock)(conn, first)

    assert await _available(pool) == before == {("alice", "credits"): 130}
    assert await pool.fetchval("SELECT count(*) FROM transactions") == 2
    assert await pool.fetchval("SELECT count(*) FROM lots") == 2
    assert await pool.fetchval("SELECT count(*) FROM postings") == 4
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2
    await assert_books_balance(pool)

    # A new order after all that is granted on top of the existing balance.
    await apply(pool, clock, [paid_order("o3", "alice", 1, paid_at=clock.now())])
    assert (await _available(pool))[("alice", "credits")] == 131
    assert await pool.fetchval("SELECT balance_after FROM transactions WHERE order_id='o3'") == 131


async def test_a_concurrent_grant_of_the_same_order_rolls_the_late_batch_back(
    pool: asyncpg.Pool,
) -> None:
    """Two writers of the same order at once (a replay beside the live consumer): the one that
    loses the race must not add the credits a second time."""
    clock = MovableClock()
    race = paid_order("o-race", "alice", 40, paid_at=clock.now())
    other = paid_order("o-other", "alice", 2, paid_at=clock.now())
    grant = order_grants(order_paid_event_id(race.order_id), race)
    more = order_grants(order_paid_event_id(other.order_id), other)
    async with pool.acquire() as first, pool.acquire() as second:
        tx1 = first.transaction()
        await tx1.start()
        await grant_orders(first, grant, clock)
        tx2 = second.transaction()
        await tx2.start()
        # The second writer checked before the first committed, then waits on the order line.
        late = asyncio.create_task(grant_orders(second, [*more, *grant], clock))
        await asyncio.sleep(0.3)
        assert not late.done()
        await tx1.commit()
        with pytest.raises(ConcurrentGrant):
            await late
        await tx2.rollback()
    assert (await _available(pool))[("alice", "credits")] == 40
    # Applied one at a time afterwards (what the consumer does), the other order goes through.
    async with pool.acquire() as conn, conn.transaction():
        assert await grant_orders(conn, grant, clock) == []
        done = await grant_orders(conn, more, clock)
    assert [(t.order_id, t.balance_after) for t in done] == [("o-other", 42)]
    await assert_books_balance(pool)


async def test_each_lot_keeps_its_unit_validity_priority_and_cost(pool: asyncpg.Pool) -> None:
    clock = MovableClock(datetime(2026, 1, 31, 9, 30, tzinfo=UTC))
    paid_at = clock.now() - timedelta(seconds=5)
    order = paid_order(
        "o-bundle",
        "alice",
        GrantSpec(quantity=1000, validity="P1M", cost_minor=9000),
        GrantSpec(quantity=100, source="promotion", priority=10, cost_minor=0),
        GrantSpec(unit="receives", quantity=5, cost_minor=1000),
        GrantSpec(quantity=50, expires_at=datetime(2026, 2, 1, tzinfo=UTC), cost_minor=0),
        paid_at=paid_at,
    )
    await apply(pool, clock, [order])
    lots = await pool.fetch(
        "SELECT unit, source, credits, remaining, effective_at, expires_at, validity_rule,"
        " priority, cost_minor, cost_currency, order_line FROM lots ORDER BY order_line"
    )
    assert [dict(r) for r in lots] == [
        {
            "unit": "credits",
            "source": "purchase",
            "credits": 1000,
            "remaining": 1000,
            "effective_at": paid_at,
            # Calendar months, clamped: Jan 31 + P1M = Feb 28.
            "expires_at": datetime(2026, 2, 28, 9, 29, 55, tzinfo=UTC),
            "validity_rule": "P1M",
            "priority": 50,
            "cost_minor": 9000,
            "cost_currency": "CNY",
            "order_line": 0,
        },
        {
            "unit": "credits",
            "source": "promotion",
            "credits": 100,
            "remaining": 100,
            "effective_at": paid_at,
            "expires_at": None,
            "validity_rule": "none",
            "priority": 10,
            "cost_minor": 0,
            "cost_currency": None,
            "order_line": 1,
        },
        {
            "unit": "receives",
            "source": "purchase",
            "credits": 5,
            "remaining": 5,
            "effective_at": paid_at,
            "expires_at": None,
            "validity_rule": "none",
            "priority": 50,
            "cost_minor": 1000,
            "cost_currency": "CNY",
            "order_line": 2,
        },
        {
            "unit": "credits",
            "source": "purchase",
            "credits": 50,
            "remaining": 50,
            "effective_at": paid_at,
            "expires_at": datetime(2026, 2, 1, tzinfo=UTC),
            "validity_rule": "fixed",
            "priority": 50,
            "cost_minor": 0,
            "cost_currency": None,
            "order_line": 3,
        },
    ]
    # Units never mix: four grant transactions, each in its lot's unit.
    assert await _available(pool) == {("alice", "credits"): 1150, ("alice", "receives"): 5}
    rows = await pool.fetch("SELECT unit, credits, balance_after FROM transactions ORDER BY seq")
    assert [(r["unit"], r["credits"], r["balance_after"]) for r in rows] == [
        ("credits", 1000, 1000),
        ("credits", 100, 1100),
        ("receives", 5, 5),
        ("credits", 50, 1150),
    ]
    assert set(await pool.fetchval("SELECT array_agg(name) FROM units")) == {"credits", "receives"}
    await assert_books_balance(pool)


async def test_an_order_with_an_unusable_validity_is_refused_whole(pool: asyncpg.Pool) -> None:
    clock = MovableClock()
    bad = paid_order(
        "o-bad",
        "alice",
        GrantSpec(quantity=10, cost_minor=0),
        GrantSpec(quantity=10, validity="six months", cost_minor=0),
        paid_at=clock.now(),
    )
    with pytest.raises(InvalidEvent, match="o-bad"):
        await apply(pool, clock, [bad])
    assert await pool.fetchval("SELECT count(*) FROM lots") == 0
