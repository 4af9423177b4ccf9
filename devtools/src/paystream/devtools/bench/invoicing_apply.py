"""Invoicing throughput: payment events invoiced per second from a pre-filled topic.

The topic and the database are fresh for each run; the consumer is the invoicing service's own
batch handler inside the shared BatchConsumer (inbox, one transaction per batch, commit after),
exactly as the service runs it. Every event is a new order, so each one takes a number: with
numbers gap-free, `max_number` equals `events`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from paystream.invoicing.consumers import handle_payment_events
from paystream.invoicing.settings import InvoicingSettings
from paystream.shared.db import create_pool
from paystream.shared.events import Envelope, PaymentSucceededV1
from paystream.shared.kafka import BatchConsumer, create_producer
from paystream.shared.migrations import upgrade
from paystream.shared.topics import dlq


async def _fill(bootstrap: str, topic: str, n: int, users: int) -> None:
    producer = create_producer(bootstrap, "bench-fill", linger_ms=20)
    await producer.start()
    try:
        now = datetime.now(UTC)
        pending = []
        for i in range(n):
            user = f"bench-user-{i % users}"
            env = Envelope.wrap(
                PaymentSucceededV1(
                    order_id=f"bench-{uuid.uuid4().hex}",
                    user_id=user,
                    package_id="standard",
                    credits=1100,
                    amount_minor=10000,
                    currency="CNY",
                    provider="stripe",
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


async def run(n: int, users: int = 5000) -> dict[str, Any]:
    settings = InvoicingSettings()
    suffix = uuid.uuid4().hex[:8]
    topic, dbname = f"bench.payments.{suffix}", f"bench_invoicing_{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(t, 6, 1) for t in (topic, dlq(topic))])
    root = await asyncpg.connect(settings.pg_dsn("postgres"))
    await root.execute(f'CREATE DATABASE "{dbname}"')
    dsn = settings.pg_dsn(dbname)
    await upgrade(settings.migrations_dir, dsn)
    pool = await create_pool(dsn, min_size=2, max_size=4)
    producer = create_producer(settings.kafka_bootstrap, "bench-dlq")
    await producer.start()
    try:
        await _fill(settings.kafka_bootstrap, topic, n, users)
        consumer = BatchConsumer(
            service="invoicing-bench",
            topics=[topic],
            group_id=f"bench-{suffix}",
            bootstrap=settings.kafka_bootstrap,
            pool=pool,
            handler=handle_payment_events,
            dlq_producer=producer,
            batch_max=settings.consumer_batch_max,
        )
        await consumer.start()
        task = asyncio.create_task(consumer.run())
        # Start the clock once the group has joined: the figure is applying, not rebalancing.
        while not consumer.consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event
            await asyncio.sleep(0.005)
        started = time.perf_counter()
        while consumer.applied < n:
            await asyncio.sleep(0.02)
            if task.done():
                task.result()
        elapsed = time.perf_counter() - started
        await consumer.stop()
        task.cancel()
        invoices = await pool.fetchval("SELECT count(*) FROM invoices")
        # The sequence part of INV-<year>-<sequence>; every event is paid in the same year.
        max_number = await pool.fetchval(
            "SELECT coalesce(max(split_part(number, '-', 3)::int), 0) FROM invoices"
        )
    finally:
        await producer.stop()
        await pool.close()
        await root.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await root.close()
        await admin.delete_topics([topic, dlq(topic)])
        await admin.close()
    return {
        "events": n,
        "elapsed_s": round(elapsed, 2),
        "per_s": round(n / elapsed, 1),
        "invoices_in_db": invoices,
        "max_number": max_number,
    }
