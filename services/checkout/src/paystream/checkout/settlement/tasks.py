"""The scheduled settlement: once a day, after the hour configured, settles the day before for
every configured provider that has not been settled yet (a restart or a second replica finds
the run row and skips it; two replicas racing both write the same comparison)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import structlog

from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.settlement import repository as repo
from paystream.checkout.settlement.service import settle, sources
from paystream.shared.events import utcnow

log = structlog.get_logger(__name__)


async def daily_settlement(
    pool: asyncpg.Pool, providers: ProviderRegistry, *, hour_utc: int, every_s: float
) -> None:
    while True:
        now = utcnow()
        if now.hour >= hour_utc:
            day = (now - timedelta(days=1)).date()
            for source in sources(providers, None):
                try:
                    async with pool.acquire() as conn:
                        if await repo.has_run(conn, source.name, day):
                            continue
                    await settle(pool, [source], day)
                except Exception:
                    # Asked again on the next tick; the metric of runs shows it unavailable.
                    log.exception("settlement_run_failed", provider=source.name, day=str(day))
        await asyncio.sleep(every_s)
