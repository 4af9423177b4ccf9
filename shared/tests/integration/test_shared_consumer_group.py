"""Two members of one consumer group on the real broker: which partitions each is given, and
when a rebalance hands them over."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from paystream.shared.db import Connection
from paystream.shared.events import CreditsSpentV1
from paystream.shared.kafka import BatchConsumer, Consumed
from paystream.shared.topics import dlq

pytestmark = pytest.mark.integration

APPLIED = "CREATE TABLE applied (event_id uuid, user_id text, topic text, member text)"


def _recorder(member: str) -> Callable[[Connection, list[Consumed]], Awaitable[None]]:
    async def handle(conn: Connection, items: list[Consumed]) -> None:
        for c in items:
            data = c.envelope.payload_as(CreditsSpentV1)
            await conn.execute(
                "INSERT INTO applied VALUES ($1, $2, $3, $4)",
                c.envelope.id,
                data.user_id,
                c.record.topic,
                member,
            )

    return handle


async def _count(pool: asyncpg.Pool, n: int) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM applied") >= n)


async def test_a_member_gets_the_same_partitions_of_every_topic_so_a_user_stays_in_one_process(
    make_topics, consumer_db, spent_event, run_consumer, send_records, until, unique_suffix: str
) -> None:
    # Like orders.events and payments.events: two topics keyed by user, with as many partitions.
    # Three partitions each and two members: round-robin would give member one a0, a2, b1 and
    # member two a1, b0, b2, splitting every user's two topics between the processes.
    orders, payments = f"t.orders.{unique_suffix}", f"t.payments.{unique_suffix}"
    await make_topics(orders, payments, dlq(orders), dlq(payments), partitions=3)
    pool = await consumer_db(APPLIED)
    options: dict[str, Any] = {"topics": [orders, payments], "group_id": f"g.{unique_suffix}"}
    async with (
        run_consumer(pool=pool, handler=_recorder("one"), **options) as one,
        run_consumer(pool=pool, handler=_recorder("two"), **options) as two,
    ):

        async def both_assigned() -> bool:
            held = [one.assignment(), two.assignment()]
            return all(held) and sum(len(h) for h in held) == 6

        await until(both_assigned)
        for member in (one, two):
            by_topic = {
                t: {tp.partition for tp in member.assignment() if tp.topic == t}
                for t in (orders, payments)
            }
            assert by_topic[orders] == by_topic[payments]
        users = [f"u{i}" for i in range(24)]
        await send_records(orders, *((u, spent_event(u, 1)) for u in users))
        await send_records(payments, *((u, spent_event(u, 2)) for u in users))
        await until(lambda: _count(pool, 48))
    rows = await pool.fetch(
        "SELECT user_id, array_agg(DISTINCT member) AS m FROM applied GROUP BY 1"
    )
    assert len(rows) == 24
    assert all(len(r["m"]) == 1 for r in rows), rows
    # Both members applied some users: the group really was split.
    assert {r["m"][0] for r in rows} == {"one", "two"}


async def test_a_rebalance_takes_partitions_away_only_once_the_batch_in_flight_committed(
    make_topics, consumer_db, spent_event, run_consumer, send_records, until, unique_suffix: str
) -> None:
    topic = f"t.handover.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=2)
    pool = await consumer_db(APPLIED)
    entered, release = asyncio.Event(), asyncio.Event()
    record = _recorder("one")

    async def slow(conn: Connection, items: list[Consumed]) -> None:
        await record(conn, items)
        entered.set()
        await release.wait()

    # The longest hand-over the request timeout allows (its rebalance timeout, twice it, must
    # stay below 10 s): the batch is released well within it.
    options: dict[str, Any] = {
        "topics": [topic],
        "group_id": f"g.{unique_suffix}",
        "pool": pool,
        "handover_wait_s": 4.9,
    }
    first = spent_event("a", 1)
    async with run_consumer(handler=slow, **options) as one:
        await until(lambda: _holds(one, 2))
        await send_records(topic, ("a", first), ("b", spent_event("b", 1)))
        await asyncio.wait_for(entered.wait(), 30)
        async with contextlib.AsyncExitStack() as stack:
            # Joining the group returns once the member has its partitions.
            joining = asyncio.create_task(
                stack.enter_async_context(run_consumer(handler=_recorder("two"), **options))
            )
            # The first member learns of the rebalance at its next heartbeat (within 3 s) and
            # then waits for its batch; without the hand-over it would give up its partitions
            # then, mid-batch, and the second member would have one of them by now.
            await asyncio.sleep(3.5)
            assert not joining.done() or joining.result().assignment() == set()
            assert len(one.assignment()) == 2
            assert not one.idle.is_set()
            release.set()
            two = await asyncio.wait_for(joining, 60)
            await until(lambda: _holds(two, 1))
            await until(lambda: _holds(one, 1))
            await send_records(topic, ("a", spent_event("a", 2)), ("b", spent_event("b", 2)))
            await until(lambda: _count(pool, 4))
    # Every event applied once; the batch held across the rebalance by the member that had it.
    assert await pool.fetchval("SELECT count(*) FROM applied") == 4
    assert await pool.fetchval("SELECT count(DISTINCT event_id) FROM applied") == 4
    assert await pool.fetchval("SELECT member FROM applied WHERE event_id = $1", first.id) == "one"


async def _holds(consumer: BatchConsumer, n: int) -> bool:
    with contextlib.suppress(Exception):
        return len(consumer.assignment()) == n
    return False
