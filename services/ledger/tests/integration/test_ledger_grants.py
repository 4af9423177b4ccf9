"""Granting credits from payment events on the real PostgreSQL: exactly once per order across
duplicate and sibling events and replays, balance_after in record order, double entry kept,
CreditsGrantedV1 in the outbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from paystream.devtools.orders import order_paid
from paystream.ledger import service
from paystream.ledger.consumers import handle_payment_events as handle
from paystream.ledger.domain import Grant
from paystream.shared.events import (
    CreditsGrantedV1,
    Envelope,
    EventData,
    OrderCreatedV1,
)
from paystream.shared.kafka import Consumed, record_inbox
from paystream.shared.topics import LEDGER_EVENTS

pytestmark = pytest.mark.integration

_offsets = iter(range(10**9))


def _consumed(data: EventData) -> Consumed:
    env = Envelope.wrap(data, source="test", subject=getattr(data, "user_id", None))
    rec: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic="payments.events",
        partition=0,
        offset=next(_offsets),
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=env.to_bytes(),
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=[],
    )
    return Consumed(rec, env)


def _paid(order: str, user: str, credits: int, provider_event: str | None = None) -> Consumed:
    return _consumed(
        order_paid(
            order,
            user,
            credits=credits,
            amount_minor=credits * 10,
            provider_event_id=provider_event or f"evt_{uuid.uuid4().hex}",
        )
    )


async def _apply(pool: asyncpg.Pool, items: list[Consumed]) -> None:
    """What the BatchConsumer does with a batch: inbox and effect in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        fresh = await record_inbox(conn, items)
        if fresh:
            await handle(conn, fresh)


async def _balances(pool: asyncpg.Pool) -> dict[str, int]:
    return {r["id"]: r["balance"] for r in await pool.fetch("SELECT id, balance FROM accounts")}


async def _assert_books_balance(pool: asyncpg.Pool) -> None:
    """Double entry holds: every transaction and the whole ledger sum to zero, and each account's
    balance is the sum of its postings."""
    assert await pool.fetchval("SELECT sum(balance) FROM accounts") == 0
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM (SELECT transaction_id FROM postings GROUP BY 1"
            " HAVING sum(amount) <> 0) x"
        )
        == 0
    )
    mismatched = await pool.fetch(
        "SELECT a.id FROM accounts a LEFT JOIN postings p ON p.account_id = a.id"
        " GROUP BY a.id, a.balance HAVING a.balance <> coalesce(sum(p.amount), 0)"
    )
    assert mismatched == []
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM transactions t WHERE (SELECT count(*) FROM postings p"
            " WHERE p.transaction_id = t.id) <> 2"
        )
        == 0
    )


async def test_a_batch_grants_each_order_once_with_balance_after_in_record_order(
    pool: asyncpg.Pool,
) -> None:
    order_created = _consumed(
        OrderCreatedV1(
            order_id="o-x",
            user_id="alice",
            package_id="standard",
            credits=1100,
            amount_minor=10000,
            currency="CNY",
            payment_method="stripe_checkout",
            created_at=datetime.now(UTC),
        )
    )
    batch = [
        _paid("o1", "alice", 100, "evt_cs_1"),
        _paid("o2", "bob", 50),
        order_created,  # not a payment: ignored
        _paid("o1", "alice", 100, "evt_pi_1"),  # Stripe's second event for the same payment
        _paid("o3", "alice", 20),
        _paid("o4", "alice", 5),
        _paid("o5", "bob", 7),
    ]
    await _apply(pool, batch)

    assert await _balances(pool) == {
        "user:alice": 125,
        "user:bob": 57,
        "system:issuance": -182,
        "system:consumption": 0,
        "system:refunds": 0,
    }
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
    assert rows[0]["event_id"] == batch[0].envelope.id  # the first event for o1 won
    await _assert_books_balance(pool)

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
    assert [(g.order_id, g.credits, g.balance_after) for g in granted] == [
        ("o1", 100, 100),
        ("o2", 50, 50),
        ("o3", 20, 120),
        ("o4", 5, 125),
        ("o5", 7, 57),
    ]
    assert all(e.subject == g.user_id for e, g in zip(events, granted, strict=True))


async def test_later_events_for_granted_orders_and_replays_change_nothing(
    pool: asyncpg.Pool,
) -> None:
    first = [_paid("o1", "alice", 100), _paid("o2", "alice", 30)]
    await _apply(pool, first)
    before = await _balances(pool)

    # The same batch again (redelivery): the inbox drops it.
    await _apply(pool, first)
    # A later, different event for an already granted order (payment_intent.succeeded after
    # checkout.session.completed): new event id, so only the order key can refuse it.
    await _apply(pool, [_paid("o1", "alice", 100), _paid("o2", "alice", 30)])
    # And the handler itself, without the inbox, on the original events: still nothing.
    async with pool.acquire() as conn, conn.transaction():
        await handle(conn, first)

    assert (
        await _balances(pool)
        == before
        == {
            "user:alice": 130,
            "system:issuance": -130,
            "system:consumption": 0,
            "system:refunds": 0,
        }
    )
    assert await pool.fetchval("SELECT count(*) FROM transactions") == 2
    assert await pool.fetchval("SELECT count(*) FROM postings") == 4
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2
    await _assert_books_balance(pool)

    # A new order after all that is granted on top of the existing balance.
    await _apply(pool, [_paid("o3", "alice", 1)])
    assert (await _balances(pool))["user:alice"] == 131
    assert await pool.fetchval("SELECT balance_after FROM transactions WHERE order_id='o3'") == 131


async def test_a_concurrent_grant_of_the_same_order_rolls_the_late_batch_back(
    pool: asyncpg.Pool,
) -> None:
    """Two writers of the same order at once (a replay beside the live consumer): the one that
    loses the race must not add the credits a second time."""
    grant = Grant(uuid.uuid4(), "o-race", "alice", 40, 400, "CNY")
    other = Grant(uuid.uuid4(), "o-other", "alice", 2, 20, "CNY")
    async with pool.acquire() as first, pool.acquire() as second:
        tx1 = first.transaction()
        await tx1.start()
        await service.grant_credits(first, [grant])
        tx2 = second.transaction()
        await tx2.start()
        # The second writer checked before the first committed, then waits on alice's row.
        late = asyncio.create_task(service.grant_credits(second, [other, grant]))
        await asyncio.sleep(0.3)
        assert not late.done()
        await tx1.commit()
        with pytest.raises(service.ConcurrentGrant):
            await late
        await tx2.rollback()
    assert (await _balances(pool))["user:alice"] == 40
    # Applied one at a time afterwards (what the consumer does), the other order goes through.
    async with pool.acquire() as conn, conn.transaction():
        assert await service.grant_credits(conn, [grant]) == []
        done = await service.grant_credits(conn, [other])
    assert [(g.order_id, g.balance_after) for g in done] == [("o-other", 42)]
    await _assert_books_balance(pool)
