"""What every service does at start and stop: database + migrations, topics, the FastStream
broker, consumers and outbox relay as background workers, readiness checks. Services compose it
in their FastAPI lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from paystream.shared import db
from paystream.shared.clock import Clock, SharedSandboxClock, SystemClock, shared_clock_for
from paystream.shared.events import EventData
from paystream.shared.kafka import (
    BatchConsumer,
    BatchHandler,
    OutgoingRecord,
    create_broker,
    declare_publisher,
    ensure_topics,
    publish_all,
    until_kafka_answers,
)
from paystream.shared.migrations import upgrade
from paystream.shared.outbox import OutboxRelay
from paystream.shared.settings import BaseServiceSettings
from paystream.shared.topics import types_on

log = structlog.get_logger(__name__)


async def stop_tasks(
    tasks: Iterable[asyncio.Task[Any]], *, within_s: float = 15.0
) -> set[asyncio.Task[Any]]:
    """Cancel background tasks and wait until they have ended, so a service always stops.

    One `cancel()` is not enough: on Python 3.11 a cancellation can be lost (`asyncio.wait_for`
    returns, or raises, the result of an inner call that finished at the moment it was cancelled;
    a library can turn a cancellation into an error of its own that a worker's retry loop then
    catches), and the task goes on looping while its stopper awaits it forever. So a task still
    running is cancelled again every 0.1 s; one still running after `within_s` is logged as
    `task_did_not_stop` and left behind rather than hanging the shutdown; those are returned."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    pending = {t for t in tasks if not t.done()}
    while pending and loop.time() < deadline:
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.1)
    for t in pending:
        log.error("task_did_not_stop", task=t.get_name(), within_s=within_s)
    return pending


class ServiceRuntime:
    # A crashed background worker is restarted after `worker_restart_s`; it counts as recovered
    # (and /readyz clears) once it has run `worker_recovered_s` without crashing again.
    worker_restart_s = 1.0
    worker_recovered_s = 5.0
    # How often the consumers' lag is sampled into /metrics (a scrape is every 15 s or so).
    lag_sample_s = 5.0

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
        # Declared now, connected by start(): consumers and publishers can be declared on it
        # before the service starts, which is what its AsyncAPI document is generated from.
        self.broker = create_broker(
            settings.kafka_bootstrap, settings.service_name, security=settings.kafka_security()
        )
        self._connected = False
        self.consumers: list[BatchConsumer] = []
        self.relay: OutboxRelay | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lag_task: asyncio.Task[None] | None = None
        self._failed: dict[str, str] = {}
        # The service's clock: the system clock, or in sandbox mode the shared sandbox clock
        # (set by start(), before anything decides on time).
        self.clock: Clock = SystemClock()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database pool not started")
        return self._pool

    async def start(self) -> None:
        s = self.settings
        if self.database:
            dsn = s.pg_dsn(self.database)
            if self.migrations_dir:
                await upgrade(self.migrations_dir, dsn)
            self._pool = await db.create_pool(dsn, min_size=s.pg_pool_min, max_size=s.pg_pool_max)
        await ensure_topics(s.kafka_bootstrap, s.topics.specs(), security=s.kafka_security())
        await until_kafka_answers(self.broker.connect)
        self._connected = True
        self.clock = await shared_clock_for(
            s.sandbox,
            bootstrap=s.kafka_bootstrap,
            topic=s.topics.sandbox_clock,
            client_id=s.service_name,
            security=s.kafka_security(),
        )
        if isinstance(self.clock, SharedSandboxClock):
            self._spawn("sandbox-clock", self.clock.run)

    async def publish(self, records: Sequence[OutgoingRecord], *, timeout_s: float) -> None:
        """Publish `records` and wait for every ack (acks=all), within `timeout_s`: see
        `paystream.shared.kafka.publish_all`."""
        await publish_all(self.broker, records, timeout_s=timeout_s)

    def add_consumer(
        self,
        *,
        topics: Sequence[str],
        group_id: str,
        handler: BatchHandler,
        event_types: Sequence[type[EventData]] = (),
        only_listed: bool = False,
        fetch_wait_ms: int | None = None,
    ) -> BatchConsumer:
        """Declare a batch consumer, before start() or after it; it consumes from
        start_workers() on. `only_listed`: records of other types than `event_types` are
        passed without being parsed or kept in the inbox (see BatchConsumer). `fetch_wait_ms`
        replaces `consumer_fetch_wait_ms` for a consumer off the payment's path, whose events
        may wait longer at the broker to come in fewer batches."""
        c = BatchConsumer(
            broker=self.broker,
            service=self.settings.service_name,
            topics=topics,
            group_id=group_id,
            # The pool exists once the runtime started; the consumer needs it from then on.
            pool=lambda: self.pool,
            handler=handler,
            event_types=event_types,
            only_listed=only_listed,
            batch_max=self.settings.consumer_batch_max,
            max_retries=self.settings.consumer_max_retries,
            on_applied=self._wake_relay,
            lanes=self.settings.consumer_lanes,
            fetch_min_bytes=self.settings.consumer_fetch_min_bytes,
            fetch_wait_ms=(
                self.settings.consumer_fetch_wait_ms if fetch_wait_ms is None else fetch_wait_ms
            ),
        )
        self.consumers.append(c)
        return c

    def add_publisher(self, topic: str, event_types: Sequence[type[EventData]] = ()) -> None:
        """Declare that the service publishes to `topic` (a name from `settings.topics`), before
        or after start: `publish` and the outbox relay then send through it, and the AsyncAPI
        document shows it with `event_types` (by default every type routed to the topic)."""
        logical = topic.removeprefix(self.settings.topic_prefix)
        declare_publisher(
            self.broker,
            topic,
            event_types or types_on(logical),
            f"{self.settings.service_name} publishes these events here.",
        )

    def _wake_relay(self) -> None:
        # A batch applied by a consumer may have enqueued events: one hop less of waiting for
        # the relay's idle poll (`idle_s`) on the way through the services.
        if self.relay is not None:
            self.relay.wake()

    def enable_outbox(self) -> OutboxRelay:
        self.relay = OutboxRelay(
            service=self.settings.service_name,
            pool=self.pool,
            broker=self.broker,
            topics=self.settings.topics,
        )
        return self.relay

    async def start_workers(self) -> None:
        for c in self.consumers:
            await c.start()
        if self.relay is not None:
            self._spawn("outbox-relay", self.relay.run)
        if self.consumers:
            self._lag_task = asyncio.create_task(self._sample_lag(), name="consumer-lag")

    async def _sample_lag(self) -> None:
        """Keep `paystream_consumer_lag_messages` current, also while no batch arrives (a
        stuck consumer is when lag matters); a failed sample only leaves the gauge as it was."""
        while True:
            for c in self.consumers:
                try:
                    await c.sample_lag()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.info("consumer_lag_not_sampled", group=c.group_id, error=repr(exc))
            await asyncio.sleep(self.lag_sample_s)

    def _spawn(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        crashes = 0

        def recovered(seen: int) -> None:
            if crashes == seen:  # no crash since the restart
                self._failed.pop(name, None)

        async def guarded() -> None:
            # A worker that dies is restarted: a bug in one round must not stop the service
            # silently. The failure is logged and shown by /readyz until the worker recovers.
            nonlocal crashes
            while True:
                try:
                    await fn()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    crashes += 1
                    self._failed[name] = repr(exc)
                    log.exception("worker_crashed", worker=name)
                    await asyncio.sleep(self.worker_restart_s)
                    asyncio.get_running_loop().call_later(
                        self.worker_recovered_s, recovered, crashes
                    )

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        if self._pool is not None:
            try:
                await db.ping(self._pool)
                checks["postgres"] = "ok"
            except Exception as exc:
                checks["postgres"] = f"error: {exc!r}"
        if self._connected:
            checks["kafka"] = "ok" if await self.broker.ping(timeout=2) else "error: no answer"
        for c in self.consumers:
            if c.failure is not None:
                checks[f"consumer:{c.group_id}"] = f"error: {c.failure}"
        for name, err in self._failed.items():
            checks[name] = f"error: {err}"
        return checks

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        # The lag sampler reads the consumers' positions: it ends before they stop.
        if self._lag_task is not None:
            await stop_tasks([self._lag_task])
        for c in self.consumers:
            await c.stop()
        await stop_tasks(self._tasks)
        if isinstance(self.clock, SharedSandboxClock):
            await self.clock.stop()
        if self._connected:
            await self.broker.stop()
        if self._pool is not None:
            await self._pool.close()
