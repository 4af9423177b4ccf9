"""Time, and the sandbox clock that tests and demos move forward (like Stripe's test clocks).

Every time a service reads to decide something (an expiry, a renewal, a hold's TTL) comes from
its `Clock`. In production that is the system clock. In sandbox mode (`PAYSTREAM_SANDBOX=true`)
it is the system clock plus an offset that an admin moves forward over HTTP. The services run on
one sandbox time (`SharedSandboxClock`): the offset is the sum of the steps on the
`sandbox.clock` topic, which every instance of every service follows, so checkout's renewals and
the ledger's expiries never disagree. (`SandboxClock` keeps an offset in one database instead.)

Durations are ISO 8601 (`P6M`, `P1M1D`, `PT1H`); months and years are calendar months, clamped
to the month's last day (Jan 31 + P1M = Feb 28 or 29).
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

import asyncpg
import isodate
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from paystream.shared.db import TRANSIENT_DB_ERRORS
from paystream.shared.events import (
    Envelope,
    InvalidEvent,
    SandboxClockAdvancedV1,
    UnknownEventType,
    utcnow,
)
from paystream.shared.kafka import create_producer, envelope_headers, until_kafka_answers
from paystream.shared.kafka_security import PLAINTEXT, KafkaSecurity

log = structlog.get_logger(__name__)

# The sandbox clock's one row, in the database of every service that keeps one.
SANDBOX_CLOCK_DDL: Final = """
CREATE TABLE sandbox_clock (
    id            boolean     PRIMARY KEY DEFAULT true CHECK (id),
    offset_us     bigint      NOT NULL DEFAULT 0 CHECK (offset_us >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    text
);
INSERT INTO sandbox_clock (id) VALUES (true);
"""

# A sandbox clock moves forward only, and at most this far in one step: far enough for a year of
# renewals, not so far that a typo makes every date unreadable.
MAX_ADVANCE: Final = timedelta(days=3660)


class InvalidDuration(ValueError):
    """Not an ISO 8601 duration paystream accepts (positive, no fractions of months)."""


# Cached: the ledger parses a lot's validity for every grant it applies (a handful of distinct
# texts, `P6M`, `P1M`), and isodate's parse was the largest cost of working out an expiry. A
# refused text raises, which lru_cache does not keep. The values are immutable (timedelta) or
# never changed (isodate.Duration: its arithmetic returns new objects).
@functools.lru_cache(maxsize=1024)
def parse_duration(text: str) -> timedelta | isodate.Duration:
    """An ISO 8601 duration, `P6M` or `PT90S`; refuses zero, negative and malformed ones."""
    try:
        value = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise InvalidDuration(f"{text!r} is not an ISO 8601 duration such as P6M or PT1H") from exc
    probe = datetime(2000, 1, 1, tzinfo=UTC)
    if probe + value <= probe:
        raise InvalidDuration(f"{text!r} is not a positive duration")
    return value


def add_duration(at: datetime, duration: str | timedelta | isodate.Duration) -> datetime:
    """`at` plus a duration; calendar months clamp to the month's end."""
    value = parse_duration(duration) if isinstance(duration, str) else duration
    result: datetime = at + value
    return result


# What a refresh may meet while the database is away or restarting: it is tried again.
_REFRESH_ERRORS: Final[tuple[type[BaseException], ...]] = (
    *TRANSIENT_DB_ERRORS,
    asyncpg.PostgresError,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SandboxOnly(PermissionError):
    """Time travel requested of a service that is not in sandbox mode."""


def _step(now: datetime, by: str | timedelta | isodate.Duration) -> timedelta:
    """How far `by` moves a sandbox clock that reads `now`; refuses what it may not do."""
    step = add_duration(now, by) - now
    if step <= timedelta(0):
        raise InvalidDuration("the sandbox clock only moves forward")
    if step > MAX_ADVANCE:
        raise InvalidDuration(f"one step moves the clock at most {MAX_ADVANCE.days} days")
    return step


class OffsetClock:
    """The system clock plus an offset that only moves forward: a sandbox mode clock.

    `now()` never waits: the offset is cached, and `run()` keeps it current."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    async def advance(self, by: str | timedelta | isodate.Duration, *, actor: str) -> datetime:
        """Move the time forward by `by` (from the current sandbox time); returns the new time."""
        raise NotImplementedError

    async def run(self) -> None:
        """Follow advances made elsewhere, until cancelled."""
        raise NotImplementedError


class SandboxClock(OffsetClock):
    """The system clock plus an offset kept in one database (`sandbox_clock`), shared by the
    instances that use that database.

    The offset is refreshed every `refresh_s` by `run()` (other instances' advances arrive
    within that), and at once after this instance advances it.
    """

    def __init__(self, pool: asyncpg.Pool, *, refresh_s: float = 0.5) -> None:
        super().__init__()
        self._pool = pool
        self._refresh_s = refresh_s

    async def load(self) -> timedelta:
        offset_us = await self._pool.fetchval("SELECT offset_us FROM sandbox_clock")
        self._offset = timedelta(microseconds=int(offset_us or 0))
        return self._offset

    async def advance(self, by: str | timedelta | isodate.Duration, *, actor: str) -> datetime:
        """Concurrent advances add up (one UPDATE each)."""
        step = _step(self.now(), by)
        offset_us = await self._pool.fetchval(
            "UPDATE sandbox_clock SET offset_us = offset_us + $1, updated_at = now(),"
            " updated_by = $2 RETURNING offset_us",
            step // timedelta(microseconds=1),
            actor,
        )
        self._offset = timedelta(microseconds=int(offset_us))
        log.info("sandbox_clock_advanced", by=str(step), offset=str(self._offset), actor=actor)
        return self.now()

    async def run(self) -> None:
        """A database that is away only delays following (the cached offset stays right for
        this instance's own advances)."""
        while True:
            try:
                await self.load()
            except _REFRESH_ERRORS as exc:
                log.warning("sandbox_clock_refresh_failed", error=repr(exc))
            await asyncio.sleep(self._refresh_s)


class ClockNotFollowed(RuntimeError):
    """An advance was published but this service did not read it back in time."""


# Every step has this key, so the steps stay in one partition, in one order, whatever the topic's
# partition count.
_STEP_KEY: Final = b"sandbox-clock"


class SharedSandboxClock(OffsetClock):
    """The one sandbox time of every service: the system clock plus the sum of the steps on the
    `sandbox.clock` topic (`SandboxClockAdvancedV1`).

    Each instance reads the topic from its beginning (no consumer group: every instance reads
    everything), at `start()` up to its end before the service serves, then as steps arrive
    (`run()`). Advancing publishes a step (acks=all) and returns once this instance has read it
    back, so the caller sees its own advance; the other services read it within a poll. The
    topic's one order makes every reader add up the same steps, concurrent advances included,
    and a restart reads the same sum again: the topic is the clock's only state.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        client_id: str,
        security: KafkaSecurity = PLAINTEXT,
        poll_ms: int = 200,
    ) -> None:
        super().__init__()
        self._topic = topic
        self._client_id = client_id
        self._poll_ms = poll_ms
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id=f"{client_id}-clock",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **security.client_options(),
        )
        self._producer = create_producer(bootstrap, f"{client_id}-clock", security=security)
        # The next offset to read, per partition, and a wake-up for advances waiting on it.
        self._read: dict[TopicPartition, int] = {}
        self._moved = asyncio.Condition()
        self._started = False

    async def start(self) -> None:
        """Connect and read every step taken so far (the topic must exist)."""
        await until_kafka_answers(self._producer.start)
        await until_kafka_answers(self._consumer.start)
        self._started = True
        # The producer's public call waits for the topic's metadata (raises if it is missing).
        partitions = await self._producer.partitions_for(self._topic)
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        ends = await self._consumer.end_offsets(tps)
        while any(self._read.get(tp, 0) < end for tp, end in ends.items()):
            await self._poll()
        log.info("sandbox_clock_loaded", offset=str(self._offset), topic=self._topic)

    async def stop(self) -> None:
        if self._started:
            await self._consumer.stop()
            await self._producer.stop()
            self._started = False

    async def _poll(self) -> None:
        batches = await self._consumer.getmany(timeout_ms=self._poll_ms)
        if not batches:
            return
        for tp, records in batches.items():
            for record in records:
                self._apply(record)
                self._read[tp] = record.offset + 1
        async with self._moved:
            self._moved.notify_all()

    def _apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        # Only our endpoint writes here; a record it cannot read moves nothing and is logged,
        # since no retry could make it readable.
        try:
            step = Envelope.from_bytes(record.value or b"").payload_as(SandboxClockAdvancedV1)
        except (InvalidEvent, UnknownEventType, ValidationError, ValueError) as exc:
            log.error("sandbox_clock_step_unreadable", offset=record.offset, error=repr(exc))
            return
        self._offset += timedelta(microseconds=step.step_us)

    async def run(self) -> None:
        while True:
            await self._poll()

    async def advance(self, by: str | timedelta | isodate.Duration, *, actor: str) -> datetime:
        step = _step(self.now(), by)
        event = SandboxClockAdvancedV1(
            step_us=step // timedelta(microseconds=1),
            actor=actor,
            via=self._client_id,
            advanced_at=utcnow(),
        )
        env = Envelope.wrap(event, source=f"paystream/{self._client_id}", time=event.advanced_at)
        sent = await self._producer.send_and_wait(
            self._topic, env.to_bytes(), key=_STEP_KEY, headers=envelope_headers(env)
        )
        tp, offset = TopicPartition(sent.topic, sent.partition), int(sent.offset)

        def read_back() -> bool:
            return self._read.get(tp, 0) > offset

        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancellation.
            async with asyncio.timeout(15), self._moved:
                await self._moved.wait_for(read_back)
        except TimeoutError:
            raise ClockNotFollowed(f"step {offset} of {self._topic} not read back") from None
        log.info("sandbox_clock_advanced", by=str(step), offset=str(self._offset), actor=actor)
        return self.now()


async def shared_clock_for(
    sandbox: bool,
    *,
    bootstrap: str,
    topic: str,
    client_id: str,
    security: KafkaSecurity = PLAINTEXT,
) -> Clock:
    """The clock a service runs on: the shared sandbox clock, started, in sandbox mode (stop it
    with the service; `run()` follows it), the system clock otherwise."""
    if not sandbox:
        return SystemClock()
    clock = SharedSandboxClock(bootstrap, topic, client_id=client_id, security=security)
    try:
        await clock.start()
    except BaseException:
        await clock.stop()
        raise
    return clock


async def clock_for(sandbox: bool, pool: asyncpg.Pool | None) -> Clock:
    """The clock a service runs on: a loaded SandboxClock in sandbox mode (it needs the
    service's database), the system clock otherwise."""
    if not sandbox:
        return SystemClock()
    if pool is None:
        raise RuntimeError("a sandbox clock keeps its offset in the service's database")
    clock = SandboxClock(pool)
    await clock.load()
    return clock
