"""Time, and the sandbox clock that tests and demos move forward (like Stripe's test clocks).

Every time a service reads to decide something (an expiry, a renewal, a hold's TTL) comes from
its `Clock`. In production that is the system clock. In sandbox mode (`PAYSTREAM_SANDBOX=true`)
it is the system clock plus an offset that an admin moves forward over HTTP; the offset lives in
the service's own database, so every instance of the service agrees on the time.

Durations are ISO 8601 (`P6M`, `P1M1D`, `PT1H`); months and years are calendar months, clamped
to the month's last day (Jan 31 + P1M = Feb 28 or 29).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

import asyncpg
import isodate
import structlog

from paystream.shared.db import TRANSIENT_DB_ERRORS

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


class SandboxClock:
    """The system clock plus an offset kept in the database (`sandbox_clock`).

    `now()` never touches the database: the offset is cached and refreshed every `refresh_s` by
    `run()` (other instances' advances arrive within that), and at once after this instance
    advances it.
    """

    def __init__(self, pool: asyncpg.Pool, *, refresh_s: float = 0.5) -> None:
        self._pool = pool
        self._refresh_s = refresh_s
        self._offset = timedelta(0)

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    async def load(self) -> timedelta:
        offset_us = await self._pool.fetchval("SELECT offset_us FROM sandbox_clock")
        self._offset = timedelta(microseconds=int(offset_us or 0))
        return self._offset

    async def advance(self, by: str | timedelta | isodate.Duration, *, actor: str) -> datetime:
        """Move this service's time forward by `by` (from its current sandbox time); returns the
        new time. Concurrent advances add up (one UPDATE each)."""
        now = self.now()
        step = add_duration(now, by) - now
        if step <= timedelta(0):
            raise InvalidDuration("the sandbox clock only moves forward")
        if step > MAX_ADVANCE:
            raise InvalidDuration(f"one step moves the clock at most {MAX_ADVANCE.days} days")
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
        """Follow advances made by other instances of the service; a database that is away only
        delays that (the cached offset stays right for this instance's own advances)."""
        while True:
            try:
                await self.load()
            except _REFRESH_ERRORS as exc:
                log.warning("sandbox_clock_refresh_failed", error=repr(exc))
            await asyncio.sleep(self._refresh_s)


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
