"""Kafka plumbing: an acks=all idempotent producer, topic creation, and the batch consumer.

The consumer gives at-least-once delivery with exactly-once effect:
- each batch is applied in ONE database transaction together with its inbox rows, and offsets
  are committed only after that transaction committed;
- the inbox drops events already applied (redelivery, replay), before the handler sees them;
- transient failures (database or broker away) are retried without end, the partition waits;
- a message that cannot be parsed goes to `<topic>.dlq` at once; one whose handling keeps
  failing goes there after bounded retries, and the partition moves on.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from opentelemetry import trace
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from paystream.shared.db import TRANSIENT_DB_ERRORS, Connection
from paystream.shared.events import Envelope, InvalidEvent
from paystream.shared.observability import (
    BATCH_SECONDS,
    CONSUMER_RETRIES,
    DEAD_LETTERS,
    EVENTS_CONSUMED,
    extract_context,
    inject_headers,
)
from paystream.shared.topics import TOPICS, TopicSpec, dlq

log = structlog.get_logger(__name__)
tracer = trace.get_tracer("paystream.kafka")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_DB_ERRORS, KafkaError)


def create_producer(bootstrap: str, client_id: str, **overrides: object) -> AIOKafkaProducer:
    """A producer that only reports success once every in-sync replica has the record."""
    opts: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 1,
        "request_timeout_ms": 10_000,
        "max_batch_size": 256 * 1024,
    }
    opts.update(overrides)
    return AIOKafkaProducer(**opts)


async def start_with_retry(client: AIOKafkaProducer | AIOKafkaConsumer, wait_s: float = 60) -> None:
    """Start a Kafka client, waiting for the broker if it is still coming up."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(KafkaError),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(wait_s),
        reraise=True,
    ):
        with attempt:
            await client.start()


async def ensure_topics(bootstrap: str, specs: Sequence[TopicSpec] = TOPICS) -> list[str]:
    """Create missing topics from the shared configuration; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="paystream-admin")
    created: list[str] = []
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(KafkaError),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(60),
        reraise=True,
    ):
        with attempt:
            await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        for spec in missing:
            try:
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, 1, topic_configs=dict(spec.config))]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    return created


def envelope_headers(
    env: Envelope, trace: list[tuple[str, bytes]] | None = None
) -> list[tuple[str, bytes]]:
    """CloudEvents headers plus the trace context; pass `trace` (from `inject_headers()`) to
    reuse one injection for a whole batch, since injecting costs more than the rest."""
    ce = [("ce_type", env.type.encode()), ("ce_id", str(env.id).encode())]
    return ce + trace if trace is not None else inject_headers(ce)


async def publish(producer: AIOKafkaProducer, topic: str, key: str, env: Envelope) -> None:
    """Send one event and wait for acks=all."""
    await producer.send_and_wait(
        topic, env.to_bytes(), key=key.encode(), headers=envelope_headers(env)
    )


@dataclass(frozen=True, slots=True)
class Consumed:
    """A consumed record and its parsed envelope."""

    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope


BatchHandler = Callable[[Connection, list[Consumed]], Awaitable[None]]


class BatchConsumer:
    """Consumes topics in batches; see the module docstring for the guarantees."""

    def __init__(
        self,
        *,
        service: str,
        topics: Sequence[str],
        group_id: str,
        bootstrap: str,
        pool: asyncpg.Pool,
        handler: BatchHandler,
        dlq_producer: AIOKafkaProducer,
        batch_max: int = 500,
        max_retries: int = 5,
        retry_base_s: float = 0.05,
    ) -> None:
        self.service = service
        self.topics = list(topics)
        self.group_id = group_id
        self.pool = pool
        self.handler = handler
        self.dlq_producer = dlq_producer
        self.batch_max = batch_max
        self.max_retries = max_retries
        self.retry_base_s = retry_base_s
        self.consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=bootstrap,
            group_id=group_id,
            client_id=f"{service}-{group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=batch_max,
            fetch_max_wait_ms=50,
        )
        self._stopping = asyncio.Event()
        self.applied = 0  # events whose effect was applied
        self.duplicates = 0  # events the inbox had already seen
        self.last_batch_at: float | None = None

    async def start(self) -> None:
        await start_with_retry(self.consumer)

    async def stop(self) -> None:
        self._stopping.set()
        await self.consumer.stop()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                batches = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_max)
            except KafkaError as exc:
                log.warning("kafka_fetch_failed", error=str(exc))
                await asyncio.sleep(0.5)
                continue
            records = [r for recs in batches.values() for r in recs]
            if not records:
                continue
            await self._process(records)
            offsets = {tp: recs[-1].offset + 1 for tp, recs in batches.items() if recs}
            await self._commit(offsets)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        delay = self.retry_base_s
        while True:
            try:
                await self.consumer.commit(offsets)
                return
            except KafkaError as exc:
                # A failed commit only means redelivery; the inbox makes that harmless.
                if self._stopping.is_set():
                    return
                log.warning("offset_commit_failed", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _process(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        parsed: list[Consumed] = []
        for rec in records:
            try:
                parsed.append(Consumed(rec, Envelope.from_bytes(rec.value or b"")))
            except InvalidEvent as exc:
                await self._dead_letter(rec, exc, attempts=1)
        if not parsed:
            return
        topic = parsed[0].record.topic
        started = time.perf_counter()
        links = [
            trace.Link(sc)
            for c in parsed[:32]
            if (sc := trace.get_current_span(extract_context(c.record.headers)).get_span_context())  # type: ignore[arg-type]
            .is_valid
        ]
        with tracer.start_as_current_span(f"consume {topic}", links=links):
            try:
                await self._apply_retrying_transient(parsed)
            except Exception as exc:
                # Something in the batch is poison: find it by applying one record at a time.
                log.warning("batch_failed_isolating", error=repr(exc), size=len(parsed))
                for one in parsed:
                    await self._apply_one(one)
        BATCH_SECONDS.labels(self.service, topic).observe(time.perf_counter() - started)
        self.last_batch_at = time.time()

    async def _apply(self, items: list[Consumed]) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await record_inbox(conn, items)
            if fresh:
                await self.handler(conn, fresh)
        # By identity: `c in fresh` compares whole records, quadratic in the batch size.
        applied = {id(c) for c in fresh}
        for c in items:
            outcome = "applied" if id(c) in applied else "duplicate"
            EVENTS_CONSUMED.labels(self.service, c.record.topic, outcome).inc()
        self.applied += len(fresh)
        self.duplicates += len(items) - len(fresh)
        return len(fresh)

    async def _apply_retrying_transient(self, items: list[Consumed]) -> None:
        delay = self.retry_base_s
        while True:
            try:
                await self._apply(items)
                return
            except TRANSIENT_ERRORS as exc:
                if self._stopping.is_set():
                    raise
                CONSUMER_RETRIES.labels(self.service, items[0].record.topic).inc()
                log.warning("transient_error_retrying", error=repr(exc), backoff_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _apply_one(self, item: Consumed) -> None:
        last: BaseException | None = None
        for attempt in range(1, self.max_retries + 2):
            try:
                await self._apply_retrying_transient([item])
                return
            except Exception as exc:
                last = exc
                CONSUMER_RETRIES.labels(self.service, item.record.topic).inc()
                await asyncio.sleep(self.retry_base_s * attempt)
        assert last is not None
        await self._dead_letter(item.record, last, attempts=self.max_retries + 1)

    async def _dead_letter(
        self, rec: ConsumerRecord[bytes, bytes], exc: BaseException, *, attempts: int
    ) -> None:
        headers = [
            *list(rec.headers or ()),
            ("dlq_error", repr(exc)[:2000].encode()),
            ("dlq_stack", "".join(traceback.format_exception(exc))[-8000:].encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_original_topic", rec.topic.encode()),
            ("dlq_original_partition", str(rec.partition).encode()),
            ("dlq_original_offset", str(rec.offset).encode()),
            ("dlq_consumer_group", self.group_id.encode()),
            ("dlq_failed_at", str(int(time.time() * 1000)).encode()),
        ]
        log.error(
            "dead_lettered",
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            error=repr(exc),
            attempts=attempts,
        )
        delay = self.retry_base_s
        while True:
            try:
                await self.dlq_producer.send_and_wait(
                    dlq(rec.topic), rec.value, key=rec.key, headers=headers
                )
                break
            except KafkaError as kexc:
                # Never commit past a poison message that is not safely in the DLQ.
                log.warning("dlq_publish_failed", error=str(kexc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        DEAD_LETTERS.labels(self.service, rec.topic).inc()
        EVENTS_CONSUMED.labels(self.service, rec.topic, "dead_lettered").inc()


async def record_inbox(conn: Connection, items: list[Consumed]) -> list[Consumed]:
    """Insert the events' ids into the inbox; return those not seen before, in order."""
    first: dict[str, Consumed] = {}
    for c in items:
        first.setdefault(str(c.envelope.id), c)
    rows = await conn.fetch(
        """
        INSERT INTO inbox (event_id, event_type, topic, kafka_partition, kafka_offset)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[])
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,
        [c.envelope.id for c in first.values()],
        [c.envelope.type for c in first.values()],
        [c.record.topic for c in first.values()],
        [c.record.partition for c in first.values()],
        [c.record.offset for c in first.values()],
    )
    new_ids = {str(r["event_id"]) for r in rows}
    return [c for eid, c in first.items() if eid in new_ids]
