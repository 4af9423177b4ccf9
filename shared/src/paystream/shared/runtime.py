"""What every service does at start and stop: database + migrations, topics, producer,
consumers and outbox relay as background tasks, readiness checks. Services compose it in their
FastAPI lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from paystream.shared import db
from paystream.shared.kafka import (
    BatchConsumer,
    BatchHandler,
    create_producer,
    ensure_topics,
    start_with_retry,
)
from paystream.shared.migrations import upgrade
from paystream.shared.outbox import OutboxRelay
from paystream.shared.settings import BaseServiceSettings

log = structlog.get_logger(__name__)


class ServiceRuntime:
    def __init__(
        self,
        settings: BaseServiceSettings,
        *,
        database: str | None = None,
        migrations_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.migrations_dir = migrations_dir
        self._pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        self.consumers: list[BatchConsumer] = []
        self.relay: OutboxRelay | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._failed: dict[str, str] = {}

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database pool not started")
        return self._pool

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("kafka producer not started")
        return self._producer

    async def start(self, *, producer_overrides: dict[str, object] | None = None) -> None:
        s = self.settings
        if self.database:
            dsn = s.pg_dsn(self.database)
            if self.migrations_dir:
                await upgrade(self.migrations_dir, dsn)
            self._pool = await db.create_pool(dsn, min_size=s.pg_pool_min, max_size=s.pg_pool_max)
        await ensure_topics(s.kafka_bootstrap, s.topics.specs())
        self._producer = create_producer(
            s.kafka_bootstrap, s.service_name, **(producer_overrides or {})
        )
        await start_with_retry(self._producer)

    def add_consumer(
        self, *, topics: Sequence[str], group_id: str, handler: BatchHandler
    ) -> BatchConsumer:
        c = BatchConsumer(
            service=self.settings.service_name,
            topics=topics,
            group_id=group_id,
            bootstrap=self.settings.kafka_bootstrap,
            pool=self.pool,
            handler=handler,
            dlq_producer=self.producer,
            batch_max=self.settings.consumer_batch_max,
            max_retries=self.settings.consumer_max_retries,
        )
        self.consumers.append(c)
        return c

    def enable_outbox(self) -> OutboxRelay:
        self.relay = OutboxRelay(
            service=self.settings.service_name,
            pool=self.pool,
            producer=self.producer,
            topics=self.settings.topics,
        )
        return self.relay

    async def start_workers(self) -> None:
        for c in self.consumers:
            await c.start()
            self._spawn(f"consumer:{c.group_id}", c.run)
        if self.relay is not None:
            self._spawn("outbox-relay", self.relay.run)

    def _spawn(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            # A worker that dies is restarted: a bug in one batch must not stop the service
            # silently. The failure is logged and shown by /readyz until the worker recovers.
            while True:
                try:
                    await fn()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._failed[name] = repr(exc)
                    log.exception("worker_crashed", worker=name)
                    await asyncio.sleep(1.0)
                else:
                    self._failed.pop(name, None)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        if self._pool is not None:
            try:
                await db.ping(self._pool)
                checks["postgres"] = "ok"
            except Exception as exc:
                checks["postgres"] = f"error: {exc!r}"
        if self._producer is not None:
            try:
                await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout=2)
                checks["kafka"] = "ok"
            except Exception as exc:
                checks["kafka"] = f"error: {exc!r}"
        for name, err in self._failed.items():
            checks[name] = f"error: {err}"
        return checks

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        for c in self.consumers:
            await c.stop()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()
        if self._pool is not None:
            await self._pool.close()
