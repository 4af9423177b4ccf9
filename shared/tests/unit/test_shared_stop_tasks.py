"""A service's shutdown ends its background tasks even when a cancellation is lost.

The failure this guards against hung CI: the consumer-lag sampler caught, inside a library call,
the cancellation meant to stop it, went back to sleeping, and the lifespan awaited it forever."""

from __future__ import annotations

import asyncio
import time

import pytest
import structlog

from paystream.shared.runtime import stop_tasks


async def _loses_one_cancellation(swallowed: list[int]) -> None:
    # What a worker loop does when a library turns our cancel into its own error, or when
    # Python 3.11's wait_for returns an inner result that finished as it was cancelled.
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(1)
            asyncio.current_task().uncancel()  # type: ignore[union-attr]


async def test_a_task_that_loses_a_cancellation_is_cancelled_again_until_it_ends() -> None:
    swallowed: list[int] = []
    task = asyncio.create_task(_loses_one_cancellation(swallowed))
    await asyncio.sleep(0)
    # What the services did before: one cancel, then wait. The task survives it...
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.3)
    assert not done
    assert swallowed == [1]
    # ...and stop_tasks ends it.
    await stop_tasks([task], within_s=5)
    assert task.cancelled()


async def test_a_task_that_never_stops_is_logged_and_left_rather_than_hanging_the_stop() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    started = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        await stop_tasks([task], within_s=0.5)
    assert time.monotonic() - started < 5
    assert not task.done()
    assert [e for e in logs if e["event"] == "task_did_not_stop"] == [
        {
            "event": "task_did_not_stop",
            "task": task.get_name(),
            "within_s": 0.5,
            "log_level": "error",
        }
    ]
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    assert task.done()


async def test_finished_and_failed_tasks_are_left_as_they_are() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    ok = asyncio.create_task(asyncio.sleep(0))
    bad = asyncio.create_task(fails())
    await asyncio.wait({ok, bad})
    await stop_tasks([ok, bad], within_s=1)
    assert ok.result() is None
    with pytest.raises(RuntimeError, match="boom"):
        bad.result()
