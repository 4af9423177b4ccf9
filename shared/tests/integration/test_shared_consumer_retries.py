"""The batch consumer's retry policy on the real broker and database: a database that goes away
is waited for (never a reason to dead-letter), a message that cannot be validated is
dead-lettered at once, and stopping during an outage commits and dead-letters nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from paystream.shared.db import Connection
from paystream.shared.events import CreditsSpentV1, Envelope
from paystream.shared.kafka import Consumed
from paystream.shared.topics import dlq

pytestmark = pytest.mark.integration


APPLIED = "CREATE TABLE applied (event_id uuid, credits int)"


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_lost_database_connection_is_retried_past_max_retries_and_never_dead_lettered(
    kafka_bootstrap: str,
    make_topics,
    consumer_db,
    spent_event,
    run_consumer,
    read_topic,
    send_records,
    until,
    unique_suffix: str,
) -> None:
    topic = f"t.transient.{unique_suffix}"
    group = f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await consumer_db(APPLIED)
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

    events = [spent_event("u1", i) for i in range(10)]
    await send_records(topic, *(("u1", env) for env in events))
    async with run_consumer(
        topics=[topic],
        group_id=group,
        pool=pool,
        handler=handler,
        max_retries=1,
        retry_base_s=0.01,
        retry_max_s=0.1,
    ) as consumer:

        async def all_applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM applied") == 10)

        await until(all_applied)
    assert outages == 0
    assert consumer.dead_lettered == 0
    assert await read_topic(dlq(topic), wait_s=2.0) == []
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
    kafka_bootstrap: str,
    make_topics,
    consumer_db,
    spent_event,
    run_consumer,
    read_topic,
    send_records,
    until,
    unique_suffix: str,
) -> None:
    topic = f"t.invalid.{unique_suffix}"
    group = f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await consumer_db(APPLIED)
    calls = 0

    async def handler(conn: Connection, items: list[Consumed]) -> None:
        nonlocal calls
        calls += 1
        for c in items:
            # A well-formed envelope whose data does not validate raises pydantic's error.
            data = c.envelope.payload_as(CreditsSpentV1)
            await conn.execute("INSERT INTO applied VALUES ($1, $2)", c.envelope.id, data.credits)

    good = [spent_event("u1", i) for i in range(6)]
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
    await send_records(topic, *(("u1", env) for env in [*good[:3], bad, *good[3:]]))
    async with run_consumer(
        topics=[topic],
        group_id=group,
        pool=pool,
        handler=handler,
        max_retries=4,
        retry_base_s=0.01,
    ):

        async def all_good_applied() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM applied") == 6)

        await until(all_good_applied)
        dead = await read_topic(dlq(topic), wait_s=2.0)
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
    topic = f"t.stop.{unique_suffix}"
    group = f"g.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await consumer_db(APPLIED)
    attempts = 0

    async def handler(conn: Connection, items: list[Consumed]) -> None:
        nonlocal attempts
        attempts += 1
        await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    await send_records(topic, *(("u1", spent_event("u1", i)) for i in range(3)))
    async with run_consumer(
        topics=[topic],
        group_id=group,
        pool=pool,
        handler=handler,
        max_retries=0,
        retry_base_s=0.01,
        retry_max_s=0.05,
    ) as consumer:

        async def retried() -> bool:
            return attempts >= 5

        await until(retried)
        # Returns promptly: stopping ends the wait for the database, and ConsumerStopping
        # is not a crash.
        await asyncio.wait_for(consumer.stop(), timeout=10)
        assert consumer.failure is None
    assert consumer.dead_lettered == 0
    assert await read_topic(dlq(topic), wait_s=2.0) == []
    assert (await group_offsets(group, topic, 1))[0][0] is None
