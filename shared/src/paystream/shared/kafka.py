"""Kafka on FastStream: the service's broker (an acks=all publisher), publishing that waits for
every ack, topic creation, and the batch consumer.

The consumer is a FastStream batch subscriber with a group id and manual acknowledgement; FastStream
fetches and commits, and paystream code on top keeps the guarantees:
- each batch is applied in ONE database transaction together with its inbox rows, and offsets
  are committed (`ack`) only after that transaction committed;
- the inbox drops events already applied (redelivery, replay), before the handler sees them;
- with `lanes` > 1, a large batch is split by record key into that many lanes, each applied in
  its own transaction on its own connection, at once: a key's records (a user's events) stay
  in one lane in their order, and the batch is acknowledged once every lane committed. A lane
  that fails fails the batch, which is applied again: the lanes that committed are in the
  inbox, so their events are not applied twice;
- transient failures (database or broker away) are retried without end, with capped exponential
  backoff and jitter: the partition waits, nothing is dead-lettered because a dependency is down;
  stopping ends the wait and leaves the batch uncommitted;
- a message that cannot be parsed or validated goes to `<topic>.dlq` at once; a batch that fails
  otherwise is split to isolate the message at fault, which is retried `max_retries` times and
  then dead-lettered, and the partition moves on;
- no offset is committed past a message that is neither applied nor safely in the DLQ: a batch
  left unacknowledged is rewound (`nack`), because FastStream fetches on after a handler that did
  not acknowledge, and the next `ack` would commit past it;
- a consumer of several topics gets partition N of each of them (the range assignor): a user's
  events share a key, hence a partition number on every topic of the same partition count, so a
  user's order (orders.events) and refund (payments.events) are applied by one process, where the
  lanes keep them in one transaction's order. The round-robin assignor, aiokafka's default, can
  give them to two processes, each of whose transactions misses the other's uncommitted rows;
- a rebalance takes partitions away only between batches: the revoking member finishes (and
  commits) the batch in flight first, so the next owner never applies beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import field
from typing import Any, Final

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    TopicAlreadyExistsError,
)
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.kafka.subscriber.usecase import BatchSubscriber
from opentelemetry import trace
from pydantic import SkipValidation, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
    wait_exponential,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from paystream.shared.db import TRANSIENT_DB_ERRORS, Connection
from paystream.shared.events import (
    EVENT_TYPES,
    Encoded,
    Envelope,
    EventData,
    InvalidEvent,
    envelope_of,
)
from paystream.shared.kafka_security import PLAINTEXT, KafkaSecurity
from paystream.shared.observability import (
    BATCH_SECONDS,
    CONSUMER_LAG,
    CONSUMER_RETRIES,
    DEAD_LETTERS,
    EVENTS_CONSUMED,
    extract_context,
    inject_headers,
)
from paystream.shared.topics import TOPICS, TopicSpec, dlq
from paystream.shared.values import checked_frozen

log = structlog.get_logger(__name__)
tracer = trace.get_tracer("paystream.kafka")

# Errors that mean "the database or the broker is not there right now": retried without end.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *TRANSIENT_DB_ERRORS,
    asyncpg.PostgresConnectionError,
    KafkaError,
)
# A message the code cannot parse or validate: no retry can help, so it is dead-lettered at once.
INVALID_MESSAGE_ERRORS: tuple[type[BaseException], ...] = (InvalidEvent, ValidationError)

Headers = Sequence[tuple[str, bytes]]


# How long a client of the services' brokers waits for any answer from Kafka, its consumers'
# requests included (FastStream gives them the broker's connection settings).
REQUEST_TIMEOUT_MS: Final = 10_000

# How long a rebalance waits for a batch in flight to commit (see `_HandOverBetweenBatches`).
HANDOVER_WAIT_S: Final = 4.0


def create_broker(
    bootstrap: str,
    client_id: str,
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> KafkaBroker:
    """The service's FastStream broker, whose producer reports success only once every in-sync
    replica has the record. Its clients, consumers included, wait `REQUEST_TIMEOUT_MS` for an
    answer: `BatchConsumer` keeps a group's join within it.

    Not idempotent, on purpose. aiokafka's idempotent producer (FastStream's, underneath) dies for
    good when the broker is away longer than the request timeout: a batch that expires without a
    partition leader has already taken its sequence numbers, the next batch is refused with
    OutOfOrderSequenceNumber, and aiokafka (unlike the Java client) never bumps the epoch, so
    every later send fails until the process restarts (aio-libs/aiokafka#1017; reproduced by
    tests/faults). Without it a retried batch may be written twice, which costs nothing here:
    every event carries a stable id and every consumer drops ids it has seen (the inbox). Order
    per partition is kept either way: aiokafka has one request in flight per broker and mutes a
    partition while its batch is in flight, and puts a failed batch back at the front.
    """
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        security=security.broker_security(),
        acks="all",
        enable_idempotence=False,
        linger_ms=1,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        max_batch_size=256 * 1024,
        # Topics are made by `ensure_topics` with their configuration (retention, partitions),
        # never by a starting subscriber with the broker's defaults.
        allow_auto_create_topics=False,
        # A stopping consumer gets this long to finish (and commit) its batch before it is
        # cancelled; a cancelled batch is only redelivered.
        graceful_timeout=10.0,
        # FastStream logs every batch received and processed: debug detail, not service logs.
        logger=logging.getLogger("paystream.faststream"),
        log_level=logging.DEBUG,
    )


def create_producer(
    bootstrap: str, client_id: str, *, security: KafkaSecurity = PLAINTEXT, **overrides: object
) -> AIOKafkaProducer:
    """A bare aiokafka producer with the broker's settings (acks=all, not idempotent: see
    `create_broker`), for tools outside a service: the CLI, which republishes records with their
    headers byte for byte, benchmarks and tests that feed topics."""
    opts: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": False,
        "linger_ms": 1,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        "max_batch_size": 256 * 1024,
        **security.client_options(),
    }
    opts.update(overrides)
    return AIOKafkaProducer(**opts)


async def until_kafka_answers(start: Callable[[], Awaitable[Any]], wait_s: float = 60) -> None:
    """Run `start` (a client's start, a broker's connect), retrying while Kafka is still coming
    up, for at most `wait_s`."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(KafkaError),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(wait_s),
        reraise=True,
    ):
        with attempt:
            await start()


def create_admin(
    bootstrap: str, client_id: str, *, security: KafkaSecurity = PLAINTEXT, **overrides: object
) -> AIOKafkaAdminClient:
    """An aiokafka admin client that connects like the rest (topic creation, offsets, lag)."""
    opts: dict[str, Any] = {"bootstrap_servers": bootstrap, "client_id": client_id}
    opts.update(security.client_options())
    opts.update(overrides)
    return AIOKafkaAdminClient(**opts)


async def ensure_topics(
    bootstrap: str, specs: Sequence[TopicSpec] = TOPICS, *, security: KafkaSecurity = PLAINTEXT
) -> list[str]:
    """Create missing topics from the shared configuration; returns the names created. Under
    ACLs a topic counts as existing when this client may describe it (deploy/kafka/acls.toml
    lets every service describe every paystream topic, and only the operator create one)."""
    admin = create_admin(bootstrap, "paystream-admin", security=security)
    created: list[str] = []
    await until_kafka_answers(admin.start)
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


# The CloudEvents Kafka protocol binding, structured content mode: this header says the value is
# the whole event (attributes and data) as JSON, which is what `Envelope.to_bytes()` writes. It
# also replaces the content type FastStream would give a record of bytes.
CLOUDEVENTS_CONTENT_TYPE: Final = ("content-type", b"application/cloudevents+json")


def envelope_headers(
    env: Envelope | Encoded, trace: list[tuple[str, bytes]] | None = None
) -> list[tuple[str, bytes]]:
    """The record headers of an event: the structured-mode content type, `ce_type` and `ce_id`
    (so tools can route and find a record without parsing its value), then the trace context;
    pass `trace` (from `inject_headers()`) to reuse one injection for a whole batch, since
    injecting costs more than the rest."""
    ce = [CLOUDEVENTS_CONTENT_TYPE, ("ce_type", env.type.encode()), ("ce_id", str(env.id).encode())]
    return ce + trace if trace is not None else inject_headers(ce)


async def publish(producer: AIOKafkaProducer, topic: str, key: str, env: Envelope) -> None:
    """Send one event and wait for acks=all."""
    await producer.send_and_wait(
        topic, env.to_bytes(), key=key.encode(), headers=envelope_headers(env)
    )


@checked_frozen
class OutgoingRecord:
    """One record to publish. Headers are text: FastStream sends them as UTF-8."""

    topic: str
    key: bytes
    value: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


async def publish_all(
    broker: KafkaBroker, records: Sequence[OutgoingRecord], *, timeout_s: float
) -> None:
    """Send every record, then wait for all their acks (acks=all) together, for at most
    `timeout_s` in all. A record goes through the broker's publisher of its topic when one was
    declared (so the AsyncAPI document shows it), else straight through the broker.

    Raises TimeoutError, or the KafkaError of a record Kafka refused: then nothing is promised
    (some records may still land; consumers' inboxes absorb the resend that follows).
    """
    publishers = {p.topic: p for p in broker.publishers if isinstance(p, DefaultPublisher)}
    futures: list[asyncio.Future[Any]] = []
    refused: BaseException | None = None
    try:
        async with asyncio.timeout(timeout_s):
            for r in records:
                headers = dict(r.headers)
                # FastStream tags every record with a correlation id: the event's own id says
                # more than a random one.
                correlation_id = headers.get("ce_id")
                publisher = publishers.get(r.topic)
                if publisher is not None:
                    sent = await publisher.publish(
                        r.value,
                        key=r.key,
                        headers=headers,
                        correlation_id=correlation_id,
                        no_confirm=True,
                    )
                else:
                    sent = await broker.publish(
                        r.value,
                        r.topic,
                        key=r.key,
                        headers=headers,
                        correlation_id=correlation_id,
                        no_confirm=True,
                    )
                futures.append(sent)
            # Every ack is needed: awaiting them one after the other costs a tenth of what
            # asyncio.gather does, which matters on webhook-ingest's request path.
            for f in futures:
                try:
                    await f
                except KafkaError as exc:  # the broker answered, with an error
                    refused = exc
                    break
    except (TimeoutError, KafkaError):
        _abandon(futures)
        raise
    if refused is not None:
        _abandon(futures)
        raise refused


def _abandon(futures: list[asyncio.Future[Any]]) -> None:
    # Records already handed to the producer may still fail later; nobody waits for them any
    # more, so their outcome is consumed here instead of "exception never retrieved".
    for f in futures:
        f.add_done_callback(_consume_outcome)


def _consume_outcome(f: asyncio.Future[Any]) -> None:
    if not f.cancelled():
        f.exception()


@checked_frozen
class Consumed:
    """A consumed record and its parsed envelope."""

    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope


BatchHandler = Callable[[Connection, list[Consumed]], Awaitable[None]]
# A batch is split into lanes only where each gets at least this many records: a lane is a
# transaction (and a connection) of its own, worth it for a backlog, not for a few events.
MIN_LANE: Final = 64
Records = Sequence[ConsumerRecord[bytes, bytes]]


class _StopWhenSet(stop_base):
    """A tenacity stop condition: the consumer is stopping."""

    def __init__(self, event: asyncio.Event) -> None:
        self.event = event

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.event.is_set()


class ConsumerStopping(Exception):
    """The consumer was stopped while it waited for a dependency: the batch is left uncommitted
    (it is redelivered to whoever owns the partition next), never dead-lettered."""


# Range only. Offering round-robin second (for a rolling upgrade from members that know only it)
# made two members starting together rebalance again and again, one of them without partitions
# for minutes (the scale-out fault test failed 5 times in 9; with range alone 6 in 6 passed).
# A rolling upgrade from a version before range assignment therefore stops the old consumers
# first: Kafka refuses a member whose assignors share none with the group's
# (InconsistentGroupProtocol), and the new one retries until the old ones are gone.
ASSIGNORS: Final = (RangePartitionAssignor,)


class _HandOverBetweenBatches(ConsumerRebalanceListener):  # type: ignore[misc]
    """Revoked partitions are handed over once the batch in flight is applied and committed.

    aiokafka calls `on_partitions_revoked` before the member rejoins, and hands out no more records
    until the new assignment: waiting here means the next owner starts after this batch's
    transaction committed, never beside it. The wait is bounded (a batch stuck waiting for a
    database that is away would hold the whole group's rebalance): past `wait_s` the partitions
    go anyway, and the next owner may apply beside this batch (an event of both is applied once:
    the second inbox insert waits for the first; the ledger's and invoicing's sweeps settle a
    refund that missed its grant or invoice). The group waits for a member's rejoin twice as long
    (`rebalance_timeout_ms`), so a member that waited is not dropped from it.

    Both stay short of the consumer's request timeout. The broker holds every member's
    JoinGroup request until the rebalance completes, for up to the rebalance timeout, and
    aiokafka waits for that answer only as long as for any request (the Java client adds the
    rebalance timeout). With a rebalance timeout of 60 s against a request timeout of 10 s, a
    member whose join the broker held longer gave up on it ("Error sending JoinGroupRequest ...
    RequestTimedOutError -- marking coordinator dead", seen in the scale-out fault test) and
    joined again, starting the wait over.
    """

    def __init__(self, consumer: BatchConsumer, wait_s: float) -> None:
        self.consumer = consumer
        self.wait_s = wait_s

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked or self.consumer.idle.is_set():
            return
        started = time.monotonic()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation.
            async with asyncio.timeout(self.wait_s):
                await self.consumer.idle.wait()
        except TimeoutError:
            log.warning(
                "partitions_revoked_mid_batch",
                group=self.consumer.group_id,
                waited_s=self.wait_s,
                partitions=len(revoked),
            )
            return
        log.info(
            "partitions_handed_over_after_batch",
            group=self.consumer.group_id,
            waited_s=round(time.monotonic() - started, 3),
            partitions=len(revoked),
        )

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


class BatchConsumer:
    """A FastStream batch subscriber of the service's broker, with the guarantees of the module
    docstring; `event_types` are what the topics carry, for the AsyncAPI document (every event
    type when not given)."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        service: str,
        topics: Sequence[str],
        group_id: str,
        pool: asyncpg.Pool | Callable[[], asyncpg.Pool],
        handler: BatchHandler,
        event_types: Sequence[type[EventData]] = (),
        only_listed: bool = False,
        batch_max: int = 500,
        max_retries: int = 5,
        retry_base_s: float = 0.05,
        retry_max_s: float = 5.0,
        on_applied: Callable[[], None] | None = None,
        lanes: int = 1,
        fetch_min_bytes: int = 65_536,
        fetch_wait_ms: int = 20,
        handover_wait_s: float = HANDOVER_WAIT_S,
    ) -> None:
        if lanes < 1:
            raise ValueError("lanes must be at least 1")
        rebalance_timeout_ms = int(handover_wait_s * 1000) * 2
        if rebalance_timeout_ms >= REQUEST_TIMEOUT_MS:
            raise ValueError(
                f"handover_wait_s={handover_wait_s}: the group's rebalance timeout (twice it) must"
                f" stay below the request timeout ({REQUEST_TIMEOUT_MS} ms), which bounds a join"
            )
        self.service = service
        # While one lane's statements run in PostgreSQL, this process prepares another's: the
        # consumer's CPU and the database's overlap (see `_lanes_of`).
        self.lanes = lanes
        # Called once a batch's transaction committed (the outbox relay's wake-up: what the
        # batch enqueued is published now, not at the relay's next idle poll).
        self.on_applied = on_applied
        self.topics = list(topics)
        self.group_id = group_id
        self._pool = pool
        self.handler = handler
        self.batch_max = batch_max
        # A consumer that wants a few types of a busy topic (checkout's auto-recharge reads only
        # balance.low of ledger.events) passes the others by their `ce_type` header: not parsed,
        # not kept in the inbox, only counted.
        if only_listed and not event_types:
            raise ValueError("only_listed needs the event types to keep")
        self.only: frozenset[str] | None = (
            frozenset(t.TYPE for t in event_types) if only_listed else None
        )
        self.max_retries = max_retries
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self._stopping = asyncio.Event()
        # Set between batches: what a rebalance waits for before it takes partitions away.
        self.idle = asyncio.Event()
        self.idle.set()
        self.applied = 0  # events whose effect was applied
        self.duplicates = 0  # events the inbox had already seen
        self.passed = 0  # records of types the consumer does not want (`only_listed`)
        self.dead_lettered = 0
        self.last_batch_at: float | None = None
        self.failure: str | None = None  # the last batch failed unexpectedly (for /readyz)
        self._lag_reported: set[TopicPartition] = set()
        schema = envelope_of(_schema_name(group_id), event_types or list(EVENT_TYPES.values()))
        self.subscriber: BatchSubscriber = broker.subscriber(
            *self.topics,
            group_id=group_id,
            batch=True,
            max_records=batch_max,
            # FastStream polls this long, and after an empty poll sleeps as long again.
            batch_timeout_ms=50,
            # The broker answers a fetch once `fetch_min_bytes` are there or `fetch_wait_ms`
            # passed (the services' settings: `consumer_fetch_*`).
            fetch_min_bytes=fetch_min_bytes,
            fetch_max_wait_ms=fetch_wait_ms,
            partition_assignment_strategy=ASSIGNORS,
            listener=_HandOverBetweenBatches(self, handover_wait_s),
            # How long the group waits for a member to rejoin a rebalance: past it the member is
            # dropped, however alive. aiokafka's default is the session timeout (10 s); set from
            # the hand-over's wait, and below the request timeout (see `_HandOverBetweenBatches`).
            rebalance_timeout_ms=rebalance_timeout_ms,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            parser=self._parse,
            decoder=self._decode,
            title=group_id,
            description=f"{service} applies these events in batches (consumer group {group_id}):"
            " inbox and effect in one transaction, offsets committed after it; poison to"
            " `<topic>.dlq`.",
        )
        self.subscriber(_batch_endpoint(self._on_batch, schema))
        self.dlq_publishers = {
            t: broker.publisher(
                dlq(t),
                title=f"{dlq(t)}:{group_id}",
                description=f"Events of `{t}` that {service} could not apply, with the error,"
                " attempts and origin in `dlq_*` headers.",
                schema=schema,
            )
            for t in self.topics
        }

    @property
    def pool(self) -> asyncpg.Pool:
        """The database; given as a function when the consumer is declared before it exists."""
        return self._pool if isinstance(self._pool, asyncpg.Pool) else self._pool()

    async def start(self) -> None:
        """Join the group and start consuming (the broker must be connected)."""
        await until_kafka_answers(self.subscriber.start)

    async def stop(self) -> None:
        """Stop: a batch waiting for a dependency is abandoned uncommitted; a batch being
        applied gets the broker's graceful timeout to finish."""
        self._stopping.set()
        await self.subscriber.stop()

    def assignment(self) -> set[TopicPartition]:
        consumer = self.subscriber.consumer
        return set(consumer.assignment()) if consumer is not None else set()

    async def sample_lag(self) -> dict[TopicPartition, int]:
        """Set `paystream_consumer_lag_messages` for the partitions this process holds: the high
        watermark the broker reports now minus this consumer's position (the offset after the
        last batch handed to it; a batch being retried counts as consumed). Partitions that
        moved to another instance stop being reported here."""
        consumer = self.subscriber.consumer
        held = set(consumer.assignment()) if consumer is not None else set()
        lags: dict[TopicPartition, int] = {}
        if consumer is not None and held:
            ends = await consumer.end_offsets(sorted(held))
            for tp in held:
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation.
                    async with asyncio.timeout(1.0):
                        position = await consumer.position(tp)
                except (IllegalStateError, TimeoutError):
                    continue  # revoked meanwhile, or no position yet: not ours to report
                lags[tp] = max(0, ends[tp] - position)
        for tp in self._lag_reported - set(lags):
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.service, self.group_id, tp.topic, str(tp.partition))
        for tp, lag in lags.items():
            CONSUMER_LAG.labels(self.service, self.group_id, tp.topic, str(tp.partition)).set(lag)
        self._lag_reported = set(lags)
        return lags

    # ---- the FastStream handler -------------------------------------------------------------

    async def _parse(
        self, records: tuple[ConsumerRecord[bytes, bytes], ...]
    ) -> KafkaAckableMessage:
        # Not FastStream's batch parser: it decodes every header of every record as UTF-8, so one
        # record with a binary header would fail the batch, which FastStream then leaves behind
        # unacknowledged (the next ack commits past it). The records go through as they came.
        consumer = self.subscriber.consumer
        assert consumer is not None, "records come from a started subscriber"
        first, last = records[0], records[-1]
        return KafkaAckableMessage(
            raw_message=records,
            body=records,
            consumer=consumer,
            message_id=f"{first.topic}-{first.partition}-{first.offset}-{last.offset}",
        )

    @staticmethod
    async def _decode(message: KafkaAckableMessage) -> Any:
        return message.raw_message

    async def _on_batch(self, records: Records, message: KafkaAckableMessage) -> None:
        self.idle.clear()
        try:
            await self._apply_and_ack(records, message)
        finally:
            self.idle.set()

    async def _apply_and_ack(self, records: Records, message: KafkaAckableMessage) -> None:
        if self._stopping.is_set():
            # Fetched while stopping: rewound, so nothing later commits past it.
            await message.nack()
            return
        try:
            await self._process(records)
        except ConsumerStopping:
            await message.nack()
            return
        except Exception as exc:
            # A failure outside the policy (a bug in the consumer itself): the batch is rewound
            # and tried again a second later, never skipped; /readyz shows it meanwhile.
            self.failure = repr(exc)
            log.exception("consumer_batch_failed", group=self.group_id)
            await message.nack()
            await asyncio.sleep(1.0)
            return
        self.failure = None
        if self.on_applied is not None:
            self.on_applied()
        await self._commit(message)

    # ---- retry policies ---------------------------------------------------------------------

    def _wait(self) -> wait_random_exponential:
        # Full jitter between the base and a capped exponential: consumers of many services
        # that lost the same database do not come back in lockstep.
        return wait_random_exponential(
            multiplier=self.retry_base_s, min=self.retry_base_s, max=self.retry_max_s
        )

    def _count_retry(self, topic: str, kind: str, exc: BaseException | None, wait_s: float) -> None:
        CONSUMER_RETRIES.labels(self.service, self.group_id, topic, kind).inc()
        log.warning(
            "consumer_retry",
            group=self.group_id,
            topic=topic,
            kind=kind,
            error=repr(exc),
            backoff_s=round(wait_s, 3),
        )

    def _before_sleep(self, topic: str, kind: str) -> Callable[[RetryCallState], None]:
        def record(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            self._count_retry(topic, kind, exc, state.upcoming_sleep)

        return record

    def _until_up(
        self, topic: str, kind: str, errors: tuple[type[BaseException], ...]
    ) -> AsyncRetrying:
        """Retry `errors` for as long as the consumer runs: a dependency that is away is waited
        for, however long it takes; stopping ends the wait with ConsumerStopping."""
        return AsyncRetrying(
            retry=retry_if_exception_type(errors),
            wait=self._wait(),
            stop=_StopWhenSet(self._stopping),
            before_sleep=self._before_sleep(topic, kind),
            retry_error_callback=self._raise_stopping,
        )

    @staticmethod
    def _raise_stopping(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        raise ConsumerStopping(repr(exc)) from exc

    # ---- processing -------------------------------------------------------------------------

    async def _process(self, records: Records) -> None:
        parsed: list[Consumed] = []
        passed = 0
        for rec in records:
            if self.only is not None and not may_be(rec, self.only):
                passed += 1
                continue
            try:
                consumed = Consumed(rec, Envelope.from_bytes(rec.value or b""))
            except InvalidEvent as exc:
                await self._dead_letter(rec, exc, attempts=1, reason="invalid")
                continue
            if self.only is not None and consumed.envelope.type not in self.only:
                passed += 1  # no (or a misleading) header: the envelope says
                continue
            parsed.append(consumed)
        if passed:
            self.passed += passed
            EVENTS_CONSUMED.labels(self.service, records[0].topic, "passed").inc(passed)
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
                await self._apply_until_up(parsed)
            except ConsumerStopping:
                raise
            except Exception as exc:
                # Something in the batch is poison: find it by halving, so the healthy events
                # keep being applied in batches and in their order.
                log.warning("batch_failed_isolating", error=repr(exc), size=len(parsed))
                await self._isolate(parsed)
        BATCH_SECONDS.labels(self.service, topic).observe(time.perf_counter() - started)
        self.last_batch_at = time.time()

    def _lanes_of(self, items: list[Consumed]) -> list[list[Consumed]]:
        """The batch split by record key into at most `lanes` lanes of at least `MIN_LANE`
        records, each in record order; records without a key go to the first lane."""
        n = min(self.lanes, len(items) // MIN_LANE)
        if n <= 1:
            return [items]
        lanes: list[list[Consumed]] = [[] for _ in range(n)]
        for c in items:
            key = c.record.key
            lanes[zlib.crc32(key) % n if key is not None else 0].append(c)
        return [lane for lane in lanes if lane]

    async def _apply_lane(self, items: list[Consumed]) -> list[Consumed]:
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await record_inbox(conn, items)
            if fresh:
                await self.handler(conn, fresh)
        return fresh

    async def _apply(self, items: list[Consumed]) -> int:
        lanes = self._lanes_of(items)
        if len(lanes) == 1:
            fresh = await self._apply_lane(items)
        else:
            # Every lane runs to its end (commit or rollback) before a failure is raised: the
            # batch is then applied again, and a lane still running would race that.
            results = await asyncio.gather(
                *(self._apply_lane(lane) for lane in lanes), return_exceptions=True
            )
            fresh = [c for r in results if not isinstance(r, BaseException) for c in r]
            failed = next((r for r in results if isinstance(r, BaseException)), None)
            if failed is not None:
                # What the other lanes committed is counted now: applied again, it is a
                # duplicate the inbox drops.
                self._count(fresh, fresh)
                raise failed
        self._count(items, fresh)
        return len(fresh)

    def _count(self, items: list[Consumed], fresh: list[Consumed]) -> None:
        # By identity: `c in fresh` compares whole records, quadratic in the batch size. Counted
        # per (topic, outcome), not per event: labels() takes a lock and builds a key each call.
        applied = {id(c) for c in fresh}
        counts = Counter(
            (c.record.topic, "applied" if id(c) in applied else "duplicate") for c in items
        )
        for (topic, outcome), n in counts.items():
            EVENTS_CONSUMED.labels(self.service, topic, outcome).inc(n)
        self.applied += len(fresh)
        self.duplicates += len(items) - len(fresh)

    async def _apply_until_up(self, items: list[Consumed]) -> None:
        """Apply a batch; transient errors are retried without end, others are raised."""
        async for attempt in self._until_up(items[0].record.topic, "transient", TRANSIENT_ERRORS):
            with attempt:
                await self._apply(items)

    async def _isolate(self, items: list[Consumed]) -> None:
        """`items` failed together: apply each half, halving again whatever fails."""
        if len(items) == 1:
            await self._apply_one(items[0])
            return
        mid = len(items) // 2
        for half in (items[:mid], items[mid:]):
            if len(half) == 1:
                await self._apply_one(half[0])
                continue
            try:
                await self._apply_until_up(half)
            except ConsumerStopping:
                raise
            except Exception:
                await self._isolate(half)

    async def _apply_one(self, item: Consumed) -> None:
        """One message alone: retried `max_retries` times (transient errors inside each attempt
        still wait without end), then dead-lettered. An invalid one is dead-lettered at once."""
        topic = item.record.topic
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_not_exception_type((*INVALID_MESSAGE_ERRORS, ConsumerStopping)),
                wait=self._wait(),
                stop=stop_any(
                    stop_after_attempt(self.max_retries + 1), _StopWhenSet(self._stopping)
                ),
                before_sleep=self._before_sleep(topic, "failed"),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    await self._apply_until_up([item])
        except ConsumerStopping:
            raise
        except INVALID_MESSAGE_ERRORS as exc:
            await self._dead_letter(item.record, exc, attempts=attempts, reason="invalid")
        except Exception as exc:
            if self._stopping.is_set():
                # Stopped mid-retries: the message was not given all its attempts.
                raise ConsumerStopping(repr(exc)) from exc
            await self._dead_letter(item.record, exc, attempts=attempts, reason="failed")

    async def _dead_letter(
        self, rec: ConsumerRecord[bytes, bytes], exc: BaseException, *, attempts: int, reason: str
    ) -> None:
        headers = [
            *list(rec.headers or ()),
            ("dlq_error", f"{type(exc).__name__}: {exc}"[:2000].encode()),
            ("dlq_reason", reason.encode()),
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
            reason=reason,
            attempts=attempts,
        )
        # FastStream publishes headers as text; a value that is not UTF-8 is kept escaped.
        text = {k: v.decode(errors="backslashreplace") for k, v in headers}
        publisher = self.dlq_publishers[rec.topic]
        # Never commit past a poison message that is not safely in the DLQ: wait for the broker.
        async for attempt in self._until_up(rec.topic, "dlq_publish", (KafkaError,)):
            with attempt:
                await publisher.publish(
                    rec.value, key=rec.key, headers=text, correlation_id=text.get("ce_id")
                )
        self.dead_lettered += 1
        DEAD_LETTERS.labels(self.service, self.group_id, rec.topic, reason).inc()
        EVENTS_CONSUMED.labels(self.service, rec.topic, "dead_lettered").inc()

    async def _commit(self, message: KafkaAckableMessage) -> None:
        # FastStream's ack commits the consumer's position on every assigned partition: the end
        # of this batch, since the subscriber fetches the next batch only after this returns.
        topic = message.raw_message[0].topic
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(KafkaError)
                & retry_if_not_exception_type((CommitFailedError, IllegalStateError)),
                wait=self._wait(),
                stop=_StopWhenSet(self._stopping),
                before_sleep=self._before_sleep(topic, "commit"),
                reraise=True,
            ):
                with attempt:
                    await message.ack()
        except KafkaError as exc:
            # The group rebalanced (or we are stopping): these partitions may be someone else's
            # now. A commit that did not happen only means redelivery; the inbox makes that
            # harmless.
            log.warning("offset_commit_abandoned", error=repr(exc))


def _schema_name(name: str) -> str:
    """`ledger.events` -> `LedgerEventsEnvelope`: a schema name for the AsyncAPI document."""
    words = name.replace("-", ".").replace("_", ".").split(".")
    return "".join(w.capitalize() for w in words) + "Envelope"


def declare_publisher(
    broker: KafkaBroker, topic: str, event_types: Sequence[type[EventData]], description: str
) -> DefaultPublisher:
    """A publisher of `topic` on the broker: `publish_all` sends the topic's records through it,
    and the AsyncAPI document shows it with the envelope of `event_types`."""
    return broker.publisher(
        topic,
        title=topic,
        description=description,
        schema=envelope_of(_schema_name(topic), event_types or list(EVENT_TYPES.values())),
    )


def _batch_endpoint(
    on_batch: Callable[[Records, KafkaAckableMessage], Awaitable[None]], schema: type[Envelope]
) -> Callable[..., Awaitable[None]]:
    """The function FastStream calls with each batch. Its annotation documents the batch as a
    list of `schema` envelopes in AsyncAPI without FastStream validating it: the consumer parses
    each record itself, so that one bad record goes to the DLQ instead of failing the batch."""

    async def consume(records: Any, message: KafkaMessage) -> None:
        await on_batch(records, message)  # type: ignore[arg-type]

    consume.__annotations__["records"] = SkipValidation[list[schema]]  # type: ignore[valid-type]
    return consume


def may_be(rec: ConsumerRecord[bytes, bytes], types: frozenset[str]) -> bool:
    """Whether a record may carry one of `types`, by its `ce_type` header (every record
    paystream publishes has one); without the header only its envelope can tell."""
    for name, value in rec.headers or ():
        if name == "ce_type":
            return value.decode(errors="replace") in types
    return True


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
