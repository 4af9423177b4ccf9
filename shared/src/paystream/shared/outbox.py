"""Transactional outbox: `enqueue` in the transaction of the change; `OutboxRelay` publishes."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

import asyncpg
import structlog
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from paystream.shared.db import TRANSIENT_DB_ERRORS, Connection
from paystream.shared.events import Encoded, Envelope
from paystream.shared.kafka import OutgoingRecord, envelope_headers, publish_all
from paystream.shared.observability import (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISHED,
    inject_headers,
)
from paystream.shared.topics import Topics, topic_of

log = structlog.get_logger(__name__)


async def enqueue(conn: Connection, key: str, env: Envelope) -> None:
    """Publish `env` (keyed by `key`) once this transaction commits, to the topic of its type."""
    await enqueue_many(conn, [(key, env)])


# (event id, logical topic, key, payload, headers)
_Row = tuple[uuid.UUID, str, str, bytes, dict[str, str]]


@dataclass
class _Buffer:
    conn: Connection
    rows: list[_Row] = field(default_factory=list)


_BUFFER: ContextVar[_Buffer | None] = ContextVar("paystream_outbox_buffer", default=None)


@contextlib.asynccontextmanager
async def batched(conn: Connection) -> AsyncIterator[None]:
    """Inside the block, what is enqueued on `conn` is written in one INSERT when the block ends,
    in the order it was enqueued, instead of one INSERT per call.

    For a consumer applying a batch in one transaction: every event's effects enqueue one or
    two rows, and each round trip to PostgreSQL waits for two processes to be scheduled, which
    on a busy machine is most of an event's time. If the block raises, nothing is written (the
    transaction is rolled back anyway). Only for code that neither reads the outbox back nor
    rolls back to a savepoint inside the block."""
    buffer = _Buffer(conn)
    token = _BUFFER.set(buffer)
    try:
        yield
    finally:
        _BUFFER.reset(token)
    await _insert(conn, buffer.rows)


async def enqueue_many(conn: Connection, rows: list[tuple[str, Envelope]]) -> None:
    """Batch form of `enqueue`: rows of (key, envelope).

    The row keeps the LOGICAL topic of the event's type; the relay puts its deployment's prefix
    in front when it publishes.
    """
    await enqueue_prepared(conn, prepare(rows))


# Outbox rows made by `prepare`.
Prepared = list[_Row]


def prepare(rows: Sequence[tuple[str, Envelope | Encoded]]) -> Prepared:
    """The outbox rows of (key, envelope) pairs, serialized: the CPU half of `enqueue_many`, for
    a caller that does it while a statement of its transaction runs (`db.overlapping`). An
    event may come already serialized (`Encoded`)."""
    if not rows:
        return []
    trace = inject_headers()  # one trace context for the whole batch
    return [
        (
            env.id,
            topic_of(env.type),
            k,
            env.to_bytes(),
            {name: v.decode() for name, v in envelope_headers(env, trace)},
        )
        for k, env in rows
    ]


async def enqueue_prepared(conn: Connection, prepared: Prepared) -> None:
    """`enqueue_many` of rows made by `prepare`, in their order."""
    if not prepared:
        return
    buffer = _BUFFER.get()
    if buffer is not None and buffer.conn is conn:
        buffer.rows.extend(prepared)
        return
    await _insert(conn, prepared)


async def _insert(conn: Connection, rows: list[_Row]) -> None:
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO outbox (event_id, topic, key, payload, headers)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[])
        ON CONFLICT (event_id) DO NOTHING
        """,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        # Dicts, not JSON text: the pool's jsonb codec encodes them; text would be stored as a
        # JSON string and break the relay.
        [r[4] for r in rows],
    )


class OutboxRelay:
    """Publishes outbox rows in id order through the broker and deletes them once Kafka
    acknowledged (acks=all).

    A crash between publish and delete republishes the rows: consumers' inboxes absorb that.
    """

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        broker: KafkaBroker,
        topics: Topics,
        batch: int = 500,
        idle_s: float = 0.1,
        ack_timeout_s: float = 30.0,
        sample_s: float = 1.0,
    ) -> None:
        self.service = service
        self.pool = pool
        self.broker = broker
        self.topics = topics
        self.ack_timeout_s = ack_timeout_s
        self.batch = batch
        self.idle_s = idle_s
        self.sample_s = sample_s
        self._sampled_at = 0.0
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run_once(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, topic, key, payload, headers FROM outbox"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch,
            )
            if not rows:
                return 0
            records = [
                OutgoingRecord(
                    self.topics.name(r["topic"]),
                    r["key"].encode(),
                    bytes(r["payload"]),
                    {k: str(v) for k, v in (r["headers"] or {}).items()},
                )
                for r in rows
            ]
            await publish_all(self.broker, records, timeout_s=self.ack_timeout_s)
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        for r in rows:
            OUTBOX_PUBLISHED.labels(self.service, self.topics.name(r["topic"])).inc()
        return len(rows)

    async def sample_backlog(self) -> tuple[int, float]:
        """Set the backlog gauges from the outbox: rows waiting, and the oldest one's age."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT count(*) AS n,"
                " coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age"
                " FROM outbox"
            )
        assert row is not None
        n, age = int(row["n"]), max(0.0, float(row["age"]))
        OUTBOX_BACKLOG.labels(self.service).set(n)
        OUTBOX_OLDEST_AGE.labels(self.service).set(age)
        return n, age

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if time.monotonic() - self._sampled_at >= self.sample_s:
                    # At most once a `sample_s`, not every round: a busy relay loops many
                    # times a second. Sampled even when publishing fails: that is when it counts.
                    self._sampled_at = time.monotonic()
                    await self.sample_backlog()
                n = await self.run_once()
            except (*TRANSIENT_DB_ERRORS, KafkaError, TimeoutError) as exc:
                log.warning("outbox_relay_retry", error=repr(exc))
                n = 0
                await asyncio.sleep(1.0)
            if n < self.batch:
                self._wake.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle_s):
                        await self._wake.wait()
