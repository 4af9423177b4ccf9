"""The background loop of the ledger's jobs (expiry, notices, hold TTL, waiting refunds)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import structlog

from paystream.ledger.expiry.service import run_jobs
from paystream.shared.clock import Clock

log = structlog.get_logger(__name__)


async def jobs_loop(
    pool: asyncpg.Pool, clock: Clock, *, every_s: float, on_work: Callable[[], None]
) -> None:
    while True:
        try:
            done = await run_jobs(pool, clock)
            if (
                done.holds_released
                or done.lots_expired
                or done.notices_sent
                or done.refunds_settled
            ):
                log.info(
                    "ledger_jobs",
                    holds_released=done.holds_released,
                    lots_expired=done.lots_expired,
                    notices_sent=done.notices_sent,
                    refunds_settled=done.refunds_settled,
                )
                on_work()
        except Exception:
            # Housekeeping: the next round retries; reads never depend on it having run.
            log.exception("ledger_jobs_failed")
        await asyncio.sleep(every_s)
