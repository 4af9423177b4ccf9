"""The shared sandbox clock on the real Kafka broker: every clock reading `sandbox.clock` keeps the
same time, an advance on one is seen by the others, concurrent advances add up, a clock started
later (a restart, a new instance) reads the same sum, and a record it cannot read moves nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from paystream.shared.clock import (
    InvalidDuration,
    SharedSandboxClock,
    SystemClock,
    shared_clock_for,
)

pytestmark = pytest.mark.integration

StartClock = Callable[[], Awaitable[SharedSandboxClock]]


@pytest.fixture
async def topic(make_topics: Callable[..., Awaitable[None]], unique_suffix: str) -> str:
    name = f"t.{unique_suffix}.sandbox.clock"
    # Three partitions, as a test topic gets them: the one key keeps the steps in one order.
    await make_topics(name, partitions=3)
    return name


@pytest.fixture
async def start_clock(kafka_bootstrap: str, topic: str) -> AsyncIterator[StartClock]:
    """`await start_clock()`: a started clock on the topic, following it until the test ends."""
    running: list[tuple[SharedSandboxClock, asyncio.Task[None]]] = []

    async def start() -> SharedSandboxClock:
        clock = await shared_clock_for(
            True, bootstrap=kafka_bootstrap, topic=topic, client_id=f"svc{len(running)}"
        )
        assert isinstance(clock, SharedSandboxClock)
        running.append((clock, asyncio.create_task(clock.run())))
        return clock

    yield start
    for clock, task in running:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await clock.stop()


async def _agree(*clocks: SharedSandboxClock, timeout_s: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len({c.offset for c in clocks}) > 1:
        assert asyncio.get_running_loop().time() < deadline, [c.offset for c in clocks]
        await asyncio.sleep(0.05)


async def test_an_advance_on_one_clock_moves_every_clock(start_clock: StartClock) -> None:
    checkout, ledger, invoicing, ingest = [await start_clock() for _ in range(4)]
    before = datetime.now(UTC)
    moved = await checkout.advance("P1M", actor="ops")
    assert moved - before >= timedelta(days=28)
    assert checkout.offset >= timedelta(days=28)  # the caller sees its own advance at once
    await _agree(checkout, ledger, invoicing, ingest)
    assert max(c.now() for c in (ledger, invoicing, ingest)) - min(
        c.now() for c in (ledger, invoicing, ingest)
    ) < timedelta(seconds=1)


async def test_concurrent_advances_add_up_everywhere(start_clock: StartClock) -> None:
    a, b = await start_clock(), await start_clock()
    await asyncio.gather(
        a.advance("P1D", actor="ops"),
        b.advance("PT1H", actor="ops"),
        a.advance("PT1M", actor="ops"),
    )
    await _agree(a, b)
    assert a.offset == timedelta(days=1, hours=1, minutes=1)


async def test_a_clock_started_later_reads_the_same_time(start_clock: StartClock) -> None:
    first = await start_clock()
    await first.advance("P6M", actor="ops")
    await first.advance("PT90S", actor="ops")
    later = await start_clock()  # start() reads every step up to the topic's end
    assert later.offset == first.offset
    assert later.offset >= timedelta(days=181, seconds=90)


async def test_bad_advances_move_nothing(start_clock: StartClock) -> None:
    a, b = await start_clock(), await start_clock()
    for bad in ("P0D", "-P1D", "P11Y", "tomorrow"):
        with pytest.raises(InvalidDuration):
            await a.advance(bad, actor="ops")
    await b.advance("PT1S", actor="ops")
    await _agree(a, b)
    assert a.offset == timedelta(seconds=1)


async def test_an_unreadable_record_moves_nothing(
    start_clock: StartClock,
    topic: str,
    send_records: Callable[..., Awaitable[None]],
) -> None:
    a = await start_clock()
    await send_records(topic, ("sandbox-clock", b"not an event"))
    await a.advance("PT2S", actor="ops")
    later = await start_clock()
    assert a.offset == later.offset == timedelta(seconds=2)


async def test_outside_sandbox_mode_the_clock_is_the_system_clock(kafka_bootstrap: str) -> None:
    clock = await shared_clock_for(False, bootstrap=kafka_bootstrap, topic="x", client_id="svc")
    assert isinstance(clock, SystemClock)
