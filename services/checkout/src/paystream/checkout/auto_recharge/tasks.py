"""The auto-recharge worker: charges the attempts that are due (new ones the consumer recorded,
retries whose backoff ran out, claims whose worker died)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog

from paystream.checkout.auto_recharge.service import Recharger, run_due

log = structlog.get_logger(__name__)


async def recharge_loop(
    pool: asyncpg.Pool,
    recharger: Recharger,
    *,
    every_s: float,
    wake: asyncio.Event,
    on_work: Callable[[], None],
) -> None:
    """Run forever: a round whenever woken (the consumer recorded an attempt) or every
    `every_s`; after a round that charged, wake the outbox relay."""
    while True:
        # Cleared before the round: a wake during it makes the next round start at once.
        wake.clear()
        try:
            if await run_due(pool, recharger):
                on_work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("auto_recharge_round_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=every_s)
