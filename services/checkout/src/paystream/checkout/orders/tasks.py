"""The expiry sweep: a background task that expires overdue pending orders and closes their
payments at the providers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import structlog

from paystream.checkout.orders import service
from paystream.checkout.providers.registry import ProviderRegistry

log = structlog.get_logger(__name__)


async def expiry_sweep(
    pool: asyncpg.Pool, providers: ProviderRegistry, *, every_s: float, grace: timedelta
) -> None:
    while True:
        try:
            await service.expire_and_close(pool, providers, grace=grace)
        except Exception:
            # The sweep is housekeeping: the next round retries; failures are logged, not fatal.
            log.exception("expiry_sweep_failed")
        await asyncio.sleep(every_s)
