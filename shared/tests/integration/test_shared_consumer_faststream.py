"""What the batch consumer must keep on top of FastStream's batch subscriber, each a way it could
lose or double an event: records FastStream's own parser cannot read, a group that rebalances
while batches are applied, and a batch fetched while the consumer stops."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from paystream.shared.db import Connection
from paystream.shared.events import CreditsSpentV1
from paystream.shared.kafka import Consumed, create_producer
from paystream.shared.topics import dlq

pytestmark = pytest.mark.integration

APPLIED = "CREATE TABLE applied (event_id uuid, credits int)"


async def _apply(conn: Connection, items: list[Consumed]) -> None:
    await conn.executemany(
        "INSERT INTO applied VALUES ($1, $2)",
        [(c.envelope.id, c.envelope.payload_as(CreditsSpentV1).credits) for c in items],
    )


async def test_a_record_with_a_binary_header_is_dead_lettered_not_skipped(
    kafka_bootstrap: str,
    make_topics,
    consumer_db,
    spent_event,
    run_consumer,
    read_topic,
    send_records,
    group_offsets,
    until,
    unique_suffix: str,
) -> None:
    # FastStream's batch parser decodes every header as UTF-8: such a record failed the whole
    # batch, which FastStream then left behind unacknowledged and the next ack committed past.
    topic, group = f"t.binhdr.{unique_suffix}", f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await consumer_db(APPLIED)
    await send_records(
        topic,
        *(("u1", spent_event("u1", i)) for i in range(3)),
        ("u1", b"\x00 not an envelope", [("blob", b"\xff\xfe\x00")]),
        *(("u1", spent_event("u1", i)) for i in range(3, 6)),
    )

    async def applied() -> bool:
        return bool(await pool.fetchval("SELECT count(*) FROM applied") == 6)

    async with run_consumer(topics=[topic], group_id=group, pool=pool, handler=_apply) as c:
        await until(applied)
        dead = await read_topic(dlq(topic), expect=1)

        async def committed() -> bool:
            offsets = await group_offsets(group, topic, 1)
            return all(c == end for c, end in offsets.values())

        await until(committed)
    assert c.dead_lettered == 1
    assert len(dead) == 1
    assert dead[0].value == b"\x00 not an envelope"
    headers = dict(dead[0].headers)
    assert headers["dlq_reason"] == b"invalid"
    assert headers["dlq_original_offset"] == b"3"
    # FastStream publishes headers as text: the binary value arrives escaped, not lost.
    assert headers["blob"] == b"\\xff\\xfe\x00"


async def test_a_member_joining_mid_stream_rebalances_without_loss_or_double_effect(
    kafka_bootstrap: str,
    make_topics,
    consumer_db,
    spent_event,
    run_consumer,
    group_offsets,
    until,
    unique_suffix: str,
) -> None:
    topic, group = f"t.rebalance.{unique_suffix}", f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=3)
    pool = await consumer_db(APPLIED)
    events = [spent_event(f"u{i % 30}", i) for i in range(3000)]
    slow = asyncio.Event()

    async def handler(conn: Connection, items: list[Consumed]) -> None:
        await _apply(conn, items)
        if not slow.is_set():
            await asyncio.sleep(0.05)  # small, slow batches: the join lands mid-stream

    producer = create_producer(kafka_bootstrap, "test")
    await producer.start()
    try:
        for env in events:
            await producer.send(topic, env.to_bytes(), key=(env.subject or "").encode(), headers=[])
        await producer.flush()
    finally:
        await producer.stop()

    async def count() -> int:
        return int(await pool.fetchval("SELECT count(*) FROM applied"))

    options = {"topics": [topic], "group_id": group, "pool": pool, "batch_max": 50}
    async with run_consumer(handler=handler, **options) as first:

        async def some() -> bool:
            return await count() >= 300

        await until(some)
        async with run_consumer(handler=handler, **options) as second:

            async def both_assigned() -> bool:
                return bool(first.assignment()) and bool(second.assignment())

            await until(both_assigned)
            slow.set()

            async def all_applied() -> bool:
                return await count() >= len(events)

            await until(all_applied, timeout_s=60)

            async def committed() -> bool:
                offsets = await group_offsets(group, topic, 3)
                return all(c == end for c, end in offsets.values())

            await until(committed)
    assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM applied") == len(events)
    assert await count() == len(events)  # the inbox dropped whatever the rebalance redelivered
    assert first.applied + second.applied == len(events)
    assert first.dead_lettered + second.dead_lettered == 0


async def test_a_batch_fetched_while_stopping_is_left_uncommitted(
    kafka_bootstrap: str,
    make_topics,
    consumer_db,
    spent_event,
    run_consumer,
    send_records,
    group_offsets,
    until,
    unique_suffix: str,
) -> None:
    # Stopping during an outage: the consumer must not apply or commit the next batch either,
    # or its ack would commit past the batch it abandoned.
    topic, group = f"t.stopfetch.{unique_suffix}", f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool: asyncpg.Pool = await consumer_db(APPLIED)
    calls = 0

    async def handler(conn: Connection, items: list[Consumed]) -> None:
        nonlocal calls
        calls += 1
        await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    await send_records(topic, *(("u1", spent_event("u1", i)) for i in range(4)))
    async with run_consumer(
        topics=[topic],
        group_id=group,
        pool=pool,
        handler=handler,
        batch_max=2,
        retry_base_s=0.01,
        retry_max_s=0.05,
    ) as consumer:

        async def retrying() -> bool:
            return calls >= 3

        await until(retrying)
        await consumer.stop()
    assert consumer.applied == 0
    assert await pool.fetchval("SELECT count(*) FROM applied") == 0
    assert (await group_offsets(group, topic, 1))[0][0] is None
