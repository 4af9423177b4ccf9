"""The batch consumer's retry policy on the real broker and database: a database that goes away
is waited for (never a reason to dead-letter), a message that cannot be validated is
dead-lettered at once, and stopping during an outage commits and dead-letters nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from paystream.shared.db import INBOX_DDL, Connection
from paystream.shared.events import CreditsSpentV1, Envelope
from paystream.shared.kafka import BatchConsumer, Consumed, create_producer, publish
from paystream.shared.topics import dlq

pytestmark = pytest.mark.integration


def _event(user: str, n: int, reason: str = "test") -> Envelope:
    return Envelope.wrap(
        CreditsSpentV1(
            user_id=user,
            transaction_id=str(uuid.uuid4()),
            credits=n,
            reason=reason,
            balance_after=0,
            spent_at=datetime.now(UTC),
        ),
        source="paystream/test",
        subject=user,
    )


async def _db(
    fresh_database: Callable[..., Awaitable[str]], pool_for: Callable[..., Awaitable[asyncpg.Pool]]
) -> asyncpg.Pool:
    pool = await pool_for(await fresh_database("shared"))
    async with pool.acquire() as conn:
        await conn.execute(INBOX_DDL)
        await conn.execute("CREATE TABLE applied (event_id uuid, credits int)")
    return pool


async def _until(cond: Callable[[], Awaitable[bool]], timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _dead_letters(topic: str, bootstrap: str, wait_s: float = 2.0) -> list[object]:
    consumer = AIOKafkaConsumer(
        dlq(topic), bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[object] = []
    try:
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(recs)
    finally:
        await consumer.stop()
    return out


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_lost_database_connection_is_retried_past_max_retries_and_never_dead_lettered(
    kafka_bootstrap: str, make_topics, fresh_database, pool_for, unique_suffix: str
) -> None:
    topic = f"t.transient.{unique_suffix}"
    group = f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await _db(fresh_database, pool_for)
    outages = 6  # more than max_retries: transient failures are not bounded by it

    async def handler(conn: Connection, items: list[Consumed]) -> None:
        nonlocal outages
        if outages > 0:
            outages -= 1
            # The server ends this very connection, as a PostgreSQL restart would.
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        for c in items:
            await conn.execute(
                "INSERT INTO applied VALUES ($1, $2)",
                c.envelope.id,
                c.envelope.payload_as(CreditsSpentV1).credits,
            )

    producer = create_producer(kafka_bootstrap, "test")
    await producer.start()
    events = [_event("u1", i) for i in range(10)]
    for env in events:
        await publish(producer, topic, "u1", env)
    consumer = BatchConsumer(
        service="test",
        topics=[topic],
        group_id=group,
        bootstrap=kafka_bootstrap,
        pool=pool,
        handler=handler,
        dlq_producer=producer,
        max_retries=1,
        retry_base_s=0.01,
        retry_max_s=0.1,
    )
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:

        async def all_applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM applied") == 10)

        await _until(all_applied)
    finally:
        await consumer.stop()
        await task
        await producer.stop()
    assert outages == 0
    assert consumer.dead_lettered == 0
    assert await _dead_letters(topic, kafka_bootstrap) == []
    assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM applied") == 10
    retries = _metric(
        "paystream_consumer_retries_total",
        service="test",
        group=group,
        topic=topic,
        kind="transient",
    )
    assert retries >= 6


async def test_an_event_that_fails_validation_is_dead_lettered_at_once(
    kafka_bootstrap: str, make_topics, fresh_database, pool_for, unique_suffix: str
) -> None:
    topic = f"t.invalid.{unique_suffix}"
    group = f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await _db(fresh_database, pool_for)
    calls = 0

    async def handler(conn: Connection, items: list[Consumed]) -> None:
        nonlocal calls
        calls += 1
        for c in items:
            # A well-formed envelope whose data does not validate raises pydantic's error.
            data = c.envelope.payload_as(CreditsSpentV1)
            await conn.execute("INSERT INTO applied VALUES ($1, $2)", c.envelope.id, data.credits)

    good = [_event("u1", i) for i in range(6)]
    bad = Envelope.wrap(
        CreditsSpentV1(
            user_id="u1",
            transaction_id="t",
            credits=1,
            reason="x",
            balance_after=0,
            spent_at=datetime.now(UTC),
        ),
        source="paystream/test",
    ).model_copy(update={"data": {"user_id": "u1", "credits": "not a number"}})
    producer = create_producer(kafka_bootstrap, "test")
    await producer.start()
    for env in [*good[:3], bad, *good[3:]]:
        await publish(producer, topic, "u1", env)
    consumer = BatchConsumer(
        service="test",
        topics=[topic],
        group_id=group,
        bootstrap=kafka_bootstrap,
        pool=pool,
        handler=handler,
        dlq_producer=producer,
        max_retries=4,
        retry_base_s=0.01,
    )
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:

        async def all_good_applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM applied") == 6)

        await _until(all_good_applied)
        dead = await _dead_letters(topic, kafka_bootstrap)
    finally:
        await consumer.stop()
        await task
        await producer.stop()
    assert len(dead) == 1
    assert Envelope.from_bytes(dead[0].value).id == bad.id  # type: ignore[attr-defined]
    headers = dict(dead[0].headers)  # type: ignore[attr-defined]
    assert headers["dlq_attempts"] == b"1"
    assert headers["dlq_reason"] == b"invalid"
    assert headers["dlq_original_offset"] == b"3"
    assert headers["dlq_consumer_group"] == group.encode()
    assert b"ValidationError" in headers["dlq_error"]
    assert b"Traceback" in headers["dlq_stack"]
    assert (
        _metric(
            "paystream_consumer_dead_letters_total",
            service="test",
            group=group,
            topic=topic,
            reason="invalid",
        )
        == 1
    )
    # No retry of the invalid message: the batch once, then its halves down to the message.
    assert (
        _metric(
            "paystream_consumer_retries_total",
            service="test",
            group=group,
            topic=topic,
            kind="failed",
        )
        == 0
    )


async def test_stopping_during_an_outage_commits_nothing_and_dead_letters_nothing(
    kafka_bootstrap: str, make_topics, fresh_database, pool_for, unique_suffix: str
) -> None:
    topic = f"t.stop.{unique_suffix}"
    group = f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await _db(fresh_database, pool_for)
    attempts = 0

    async def handler(conn: Connection, items: list[Consumed]) -> None:
        nonlocal attempts
        attempts += 1
        await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    producer = create_producer(kafka_bootstrap, "test")
    await producer.start()
    for i in range(3):
        await publish(producer, topic, "u1", _event("u1", i))
    consumer = BatchConsumer(
        service="test",
        topics=[topic],
        group_id=group,
        bootstrap=kafka_bootstrap,
        pool=pool,
        handler=handler,
        dlq_producer=producer,
        max_retries=0,
        retry_base_s=0.01,
        retry_max_s=0.05,
    )
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:

        async def retried() -> bool:
            return attempts >= 5

        await _until(retried)
    finally:
        await consumer.stop()
        await asyncio.wait_for(task, timeout=10)  # returns: ConsumerStopping is not a crash
        await producer.stop()
    assert consumer.dead_lettered == 0
    assert await _dead_letters(topic, kafka_bootstrap) == []
    probe = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    await probe.start()
    try:
        assert await probe.committed(TopicPartition(topic, 0)) is None
    finally:
        await probe.stop()
