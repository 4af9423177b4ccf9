"""The batch consumer and the outbox relay on the real broker and database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from paystream.shared.db import Connection
from paystream.shared.events import CreditsGrantedV1, CreditsSpentV1, Envelope
from paystream.shared.kafka import Consumed
from paystream.shared.outbox import OutboxRelay, enqueue
from paystream.shared.topics import Topics, dlq

pytestmark = pytest.mark.integration

APPLIED = "CREATE TABLE applied (event_id uuid, user_id text, credits int)"


async def _handler(conn: Connection, items: list[Consumed]) -> None:
    for c in items:
        data = c.envelope.payload_as(CreditsSpentV1)
        if data.reason == "poison":
            raise ValueError("this event can never be applied")
        await conn.execute(
            "INSERT INTO applied VALUES ($1, $2, $3)", c.envelope.id, data.user_id, data.credits
        )


async def test_each_event_applied_once_garbage_dead_lettered_offsets_committed(
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
    topic = f"t.consumer.{unique_suffix}"
    await make_topics(topic, dlq(topic))
    pool = await consumer_db(APPLIED)
    events = [spent_event(f"u{i % 4}", i) for i in range(20)]
    await send_records(
        topic,
        *((env.subject or "", env) for env in events),
        *((env.subject or "", env) for env in events[:5]),  # redelivered duplicates
        ("u0", b"definitely not an envelope"),
    )

    group = f"g.{unique_suffix}"
    async with run_consumer(topics=[topic], group_id=group, pool=pool, handler=_handler):
        await until(lambda: _count(pool, 20))
        dead = await read_topic(dlq(topic), expect=1)
    assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM applied") == 20
    assert await pool.fetchval("SELECT count(*) FROM applied") == 20
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["dlq_original_topic"].decode() == topic
    assert b"not JSON" in headers["dlq_error"]

    # Offsets were committed after the database: a new consumer of the group starts at the end.
    for committed, end in (await group_offsets(group, topic, 3)).values():
        assert committed == end

    # Replaying the whole topic into the same database (another group) changes nothing.
    async with run_consumer(
        topics=[topic], group_id=f"replay.{unique_suffix}", pool=pool, handler=_handler
    ) as replay:
        await until(lambda: _is(replay.duplicates >= 25))
    assert replay.applied == 0
    assert await pool.fetchval("SELECT count(*) FROM applied") == 20


async def test_poison_event_goes_to_dlq_and_the_rest_of_the_batch_is_applied(
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
    topic = f"t.poison.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await consumer_db(APPLIED)
    good_before = [spent_event("u1", i) for i in range(5)]
    poison = Envelope.wrap(
        CreditsSpentV1(
            user_id="u1",
            transaction_id="t",
            credits=1,
            reason="poison",
            balance_after=0,
            spent_at=datetime.now(UTC),
        ),
        source="paystream/test",
    )
    good_after = [spent_event("u1", i) for i in range(5, 10)]
    await send_records(topic, *(("u1", env) for env in [*good_before, poison, *good_after]))
    async with run_consumer(
        topics=[topic],
        group_id=f"g.{unique_suffix}",
        pool=pool,
        handler=_handler,
        max_retries=2,
        retry_base_s=0.01,
    ):
        await until(lambda: _count(pool, 10))
        dead = await read_topic(dlq(topic), expect=1)
    assert len(dead) == 1
    assert Envelope.from_bytes(dead[0].value).id == poison.id
    headers = dict(dead[0].headers)
    assert headers["dlq_attempts"] == b"3"
    assert b"can never be applied" in headers["dlq_error"]
    assert headers["dlq_original_offset"] == b"5"
    # The poison's inbox row rolled back with it, so a fixed consumer could still apply it later.
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", poison.id) == 0


LANED = (
    "CREATE TABLE applied (event_id uuid, user_id text, credits int, n bigserial,"
    " tx bigint DEFAULT txid_current())"
)


async def test_lanes_apply_a_batch_in_transactions_by_key_in_order_and_once_despite_poison(
    make_topics,
    consumer_db,
    spent_event,
    run_consumer,
    read_topic,
    send_records,
    until,
    unique_suffix: str,
) -> None:
    topic = f"t.lanes.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await consumer_db(LANED)
    users = [f"u{i}" for i in range(12)]
    first = [spent_event(users[i % 12], i) for i in range(360)]
    second = [spent_event(users[i % 12], i) for i in range(360, 600)]
    poison = spent_event("u5", 1000, reason="poison")
    options: dict[str, Any] = {
        "topics": [topic],
        "group_id": f"g.{unique_suffix}",
        "pool": pool,
        "handler": _handler,
        "batch_max": 1000,
        "lanes": 3,
        "max_retries": 0,
        "retry_base_s": 0.01,
    }
    # Sent before the consumer starts, so its first fetch is one batch of them all.
    await send_records(topic, *((env.subject or "", env) for env in first))
    async with run_consumer(**options):
        await until(lambda: _count(pool, 360))
    # One batch, three lanes: three transactions, a user's events all in one of them.
    rows = await pool.fetch("SELECT user_id, tx FROM applied")
    tx_of: dict[str, set[int]] = {}
    for r in rows:
        tx_of.setdefault(r["user_id"], set()).add(r["tx"])
    assert all(len(txs) == 1 for txs in tx_of.values())
    assert len({tx for txs in tx_of.values() for tx in txs}) == 3

    # A poison event fails its lane, so the batch; the other lanes committed, and the batch
    # applied again (halved to find the poison) finds their events in the inbox.
    await send_records(topic, *((env.subject or "", env) for env in [*second, poison]))
    async with run_consumer(**options) as consumer:
        await until(lambda: _count(pool, 600))
        dead = await read_topic(dlq(topic), expect=1)
    assert [Envelope.from_bytes(r.value).id for r in dead] == [poison.id]  # type: ignore[arg-type]
    assert consumer.applied == 240
    assert consumer.duplicates > 0
    rows = await pool.fetch("SELECT user_id, credits FROM applied ORDER BY n")
    assert sorted(r["credits"] for r in rows) == list(range(600))
    # Each user's events were applied in their record order.
    by_user: dict[str, list[int]] = {}
    for r in rows:
        by_user.setdefault(r["user_id"], []).append(r["credits"])
    assert all(seen == sorted(seen) for seen in by_user.values())


async def test_outbox_relay_publishes_then_deletes(
    kafka_broker, test_topics: Topics, consumer_db, spent_event, read_topic
) -> None:
    topic = test_topics.ledger_events  # where CreditsSpentV1 goes
    pool = await consumer_db(APPLIED)
    events = [spent_event(f"u{i}", i) for i in range(10)]
    async with pool.acquire() as conn, conn.transaction():
        for env in events:
            await enqueue(conn, env.subject or "", env)
        await enqueue(conn, "u0", events[0])  # enqueued twice: stored once
    relay = OutboxRelay(service="test", pool=pool, broker=kafka_broker, topics=test_topics)
    assert await relay.run_once() == 10
    assert await relay.run_once() == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    got = await read_topic(topic, expect=10)
    assert sorted(str(Envelope.from_bytes(r.value).id) for r in got) == sorted(  # type: ignore[arg-type]
        str(e.id) for e in events
    )
    for r in got:
        assert dict(r.headers)["ce_type"] == b"paystream.credits.spent.v1"


async def _count(pool: asyncpg.Pool, n: int) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM applied") >= n)


async def _is(value: bool) -> bool:
    return value


async def test_a_consumer_of_some_types_passes_the_others_unparsed_and_out_of_the_inbox(
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
    topic = f"t.only.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=1)
    pool = await consumer_db(APPLIED)
    wanted = [spent_event("u1", i) for i in range(3)]
    other = Envelope.wrap(
        CreditsGrantedV1(
            user_id="u1",
            transaction_id="t1",
            order_id="o1",
            credits=5,
            balance_after=5,
            granted_at=datetime.now(UTC),
        ),
        source="paystream/test",
    )
    await send_records(
        topic,
        ("u1", wanted[0]),
        ("u1", other),  # passed by its ce_type header, never parsed
        # A header naming another type on a body that is not even an envelope: passed too.
        ("u1", b"not an envelope", [("ce_type", CreditsGrantedV1.TYPE.encode())]),
        ("u1", wanted[1]),
        ("u1", other.to_bytes()),  # no header: the envelope tells, then it is passed
        ("u1", b"garbage without a header"),  # no header, no envelope: dead-lettered as ever
        ("u1", wanted[2]),
    )
    group = f"g.{unique_suffix}"
    async with run_consumer(
        topics=[topic],
        group_id=group,
        pool=pool,
        handler=_handler,
        event_types=(CreditsSpentV1,),
        only_listed=True,
    ) as consumer:
        await until(lambda: _count(pool, 3))
        dead = await read_topic(dlq(topic), expect=1)
        await until(lambda: _committed_to_end(group_offsets, group, topic))
    assert consumer.applied == 3
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 3
    assert {r["event_id"] for r in await pool.fetch("SELECT event_id FROM inbox")} == {
        e.id for e in wanted
    }
    assert [r.value for r in dead] == [b"garbage without a header"]


async def _committed_to_end(group_offsets: Any, group: str, topic: str) -> bool:
    return all(c == end for c, end in (await group_offsets(group, topic, 1)).values())
