"""`enqueue_many` on a pool connection: rows the relay can publish, headers intact."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from paystream.shared.db import OUTBOX_DDL
from paystream.shared.events import CreditsSpentV1, Envelope
from paystream.shared.outbox import OutboxRelay, batched, enqueue, enqueue_many
from paystream.shared.topics import LEDGER_EVENTS, Topics

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(database_with: Callable[[str, str], Awaitable[asyncpg.Pool]]) -> asyncpg.Pool:
    """A pool on a database of this test's own, with the outbox table."""
    return await database_with("shared", OUTBOX_DDL)


def _spent(i: int) -> Envelope:
    return Envelope.wrap(
        CreditsSpentV1(
            user_id=f"u{i}",
            transaction_id=str(uuid.uuid4()),
            credits=i + 1,
            reason="test",
            balance_after=0,
            spent_at=datetime.now(UTC),
        ),
        source="paystream/test",
    )


async def test_enqueue_many_rows_are_published_by_the_relay(
    kafka_broker: KafkaBroker,
    read_topic: Callable[..., Awaitable[list[ConsumerRecord[bytes, bytes]]]],
    test_topics: Topics,
    pool: asyncpg.Pool,
) -> None:
    topic = test_topics.ledger_events  # the topic of CreditsSpentV1
    events = [_spent(i) for i in range(5)]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue_many(conn, [(f"u{i}", env) for i, env in enumerate(events)])
    rows = await pool.fetch("SELECT topic, headers FROM outbox ORDER BY id")
    assert [r["headers"]["ce_id"] for r in rows] == [str(e.id) for e in events]
    # The row keeps the logical topic of the event's type; the relay adds the prefix.
    assert {r["topic"] for r in rows} == {LEDGER_EVENTS}

    relay = OutboxRelay(service="test", pool=pool, broker=kafka_broker, topics=test_topics)
    assert await relay.run_once() == 5
    got = await read_topic(topic, expect=5)
    assert sorted(dict(r.headers)["ce_id"].decode() for r in got) == sorted(
        str(e.id) for e in events
    )


async def test_rows_the_relay_could_not_publish_stay_in_the_outbox_in_their_order(
    kafka_broker: KafkaBroker,
    read_topic: Callable[..., Awaitable[list[ConsumerRecord[bytes, bytes]]]],
    test_topics: Topics,
    pool: asyncpg.Pool,
) -> None:
    events = [_spent(i) for i in range(5)]
    async with pool.acquire() as conn, conn.transaction():
        # One key: one partition, so the topic shows the order the relay published in.
        await enqueue_many(conn, [("u", env) for env in events])
    before = await pool.fetch("SELECT id, headers FROM outbox ORDER BY id")

    # No acknowledgement comes back within 0.1 ms: the relay gives up on the round, and its
    # transaction ends without deleting anything.
    hasty = OutboxRelay(
        service="test", pool=pool, broker=kafka_broker, topics=test_topics, ack_timeout_s=1e-4
    )
    with pytest.raises(TimeoutError):
        await hasty.run_once()
    assert await pool.fetch("SELECT id, headers FROM outbox ORDER BY id") == before

    relay = OutboxRelay(service="test", pool=pool, broker=kafka_broker, topics=test_topics)
    assert await relay.run_once() == 5
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    # The timed-out round may have landed some records already (at least once, as documented);
    # the round that committed published all five after them, in id order.
    got = await read_topic(test_topics.ledger_events, wait_s=3)
    ids = [dict(r.headers)["ce_id"].decode() for r in got]
    assert ids[-5:] == [str(e.id) for e in events]


async def test_batched_writes_the_block_s_rows_once_at_its_end_in_order(
    pool: asyncpg.Pool,
) -> None:
    events = [_spent(i) for i in range(5)]
    async with pool.acquire() as conn, conn.transaction():
        async with batched(conn):
            await enqueue(conn, "u0", events[0])
            await enqueue_many(conn, [("u1", events[1]), ("u2", events[2])])
            # Nothing is written before the block ends.
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
            # Another connection's enqueue is not held back by this block.
            async with pool.acquire() as other, other.transaction():
                await enqueue(other, "u4", events[4])
            await enqueue(conn, "u3", events[3])
            await enqueue(conn, "u3", events[3])  # the same event twice: kept once
        rows = await conn.fetch("SELECT key, headers FROM outbox ORDER BY id")
    assert [r["headers"]["ce_id"] for r in rows] == [str(events[i].id) for i in (4, 0, 1, 2, 3)]
    assert [r["key"] for r in rows] == ["u4", "u0", "u1", "u2", "u3"]


async def test_batched_writes_nothing_when_its_block_fails(
    pool: asyncpg.Pool,
) -> None:

    async def poisoned(conn: asyncpg.Connection) -> None:
        async with batched(conn):
            await enqueue(conn, "u0", _spent(0))
            raise RuntimeError("poison")

    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="poison"):
            await poisoned(conn)
        # Outside any transaction: had the row been written, it would be there now.
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        # And the block is over: an enqueue now is written at once.
        await enqueue(conn, "u1", _spent(1))
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
