"""Consumer throughput from a pre-filled topic: the common method of the ledger and invoicing
benchmarks.

The topic and the database are fresh for each run; the consumer is the service's own batch
handler inside the shared BatchConsumer (a FastStream batch subscriber: inbox, one transaction
per batch, commit after), exactly as the service runs it. The clock starts once the consumer
group has joined, so the figure is applying, not rebalancing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.admin import NewTopic

from paystream.devtools.orders import order_paid
from paystream.shared.db import create_pool
from paystream.shared.events import Envelope
from paystream.shared.http import settle_collector
from paystream.shared.kafka import (
    BatchConsumer,
    BatchHandler,
    create_admin,
    create_broker,
    create_producer,
)
from paystream.shared.kafka_security import PLAINTEXT, KafkaSecurity
from paystream.shared.migrations import upgrade
from paystream.shared.settings import BaseServiceSettings
from paystream.shared.topics import Topics

Check = Callable[[asyncpg.Pool], Awaitable[dict[str, Any]]]


async def fill(
    bootstrap: str, topic: str, n: int, users: int, *, security: KafkaSecurity = PLAINTEXT
) -> None:
    """Publish `n` payments of distinct orders by `users` users."""
    producer = create_producer(bootstrap, "bench-fill", security=security, linger_ms=20)
    await producer.start()
    try:
        now = datetime.now(UTC)
        pending = []
        for i in range(n):
            user = f"bench-user-{i % users}"
            env = Envelope.wrap(
                order_paid(
                    f"bench-{uuid.uuid4().hex}",
                    user,
                    provider_event_id=f"evt_{i}",
                    provider_payment_id=f"pi_{i}",
                    paid_at=now,
                ),
                source="paystream/bench",
            )
            pending.append(await producer.send(topic, env.to_bytes(), key=user.encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def apply_from_topic(
    *,
    name: str,
    settings: BaseServiceSettings,
    migrations_dir: Path,
    handler: BatchHandler,
    check: Check,
    n: int,
    users: int,
) -> dict[str, Any]:
    """Fill a fresh topic with `n` payments, apply them with `handler` into a fresh database, and
    return the rate plus what `check` reads from the database afterwards."""
    suffix = uuid.uuid4().hex[:8]
    specs = Topics(f"bench.{suffix}.").specs()
    topic = Topics(f"bench.{suffix}.").payments_events
    dbname = f"bench_{name}_{suffix}"
    topics = [s.name for s in specs]
    security = settings.kafka_security()
    admin = create_admin(settings.kafka_bootstrap, "bench-admin", security=security)
    await admin.start()
    await admin.create_topics([NewTopic(s.name, s.partitions, 1) for s in specs])
    root = await asyncpg.connect(settings.pg_dsn("postgres"))
    await root.execute(f'CREATE DATABASE "{dbname}"')
    dsn = settings.pg_dsn(dbname)
    await upgrade(migrations_dir, dsn)
    pool = await create_pool(dsn, min_size=2, max_size=2 + settings.consumer_lanes)
    broker = create_broker(settings.kafka_bootstrap, f"{name}-bench", security=security)
    await broker.connect()
    try:
        await fill(settings.kafka_bootstrap, topic, n, users, security=security)
        consumer = BatchConsumer(
            broker=broker,
            service=f"{name}-bench",
            topics=[topic],
            group_id=f"bench-{suffix}",
            pool=pool,
            handler=handler,
            batch_max=settings.consumer_batch_max,
            lanes=settings.consumer_lanes,
            fetch_min_bytes=settings.consumer_fetch_min_bytes,
            fetch_wait_ms=settings.consumer_fetch_wait_ms,
        )
        # The collector as the service has it when it serves (`shared.http.serve`): what this
        # process built so far (imports, the filled topic's producer) is frozen out of its
        # scans, which rescanned all of it in every full collection (~70 ms each) otherwise.
        settle_collector()
        await consumer.start()
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event
            await asyncio.sleep(0.005)
        started, cpu_started = time.perf_counter(), time.process_time()
        while consumer.applied < n:
            await asyncio.sleep(0.02)
            if consumer.failure is not None:
                raise RuntimeError(f"the consumer failed: {consumer.failure}")
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        await consumer.stop()
        checked = await check(pool)
    finally:
        await broker.stop()
        await pool.close()
        await root.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await root.close()
        await admin.delete_topics(topics)
        await admin.close()
    return {
        "events": n,
        "users": users,
        "batch_max": settings.consumer_batch_max,
        "lanes": settings.consumer_lanes,
        "elapsed_s": round(elapsed, 2),
        "per_s": round(n / elapsed, 1),
        # CPU seconds of this process (consumer, handler, Kafka client) in the same window: on
        # a shared machine it moves less with the other load than the rate does.
        "cpu_s": round(cpu, 2),
        **checked,
    }
