"""The reconciler as a background task of checkout (like the expiry sweep in orders/tasks.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import structlog

from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.reconcile.service import ReconcileConfig, reconcile_once
from paystream.checkout.subscriptions.service import Plans

log = structlog.get_logger(__name__)


async def reconciler(
    pool: asyncpg.Pool,
    providers: ProviderRegistry,
    config: ReconcileConfig,
    plans: Plans,
    *,
    every_s: float,
    wake_outbox: Callable[[], None],
) -> None:
    while True:
        try:
            done = await reconcile_once(pool, providers, config, plans)
            if done.resolved:
                wake_outbox()
        except Exception:
            # Housekeeping like the expiry sweep: the next round asks again; logged, not fatal.
            log.exception("reconcile_round_failed")
        await asyncio.sleep(every_s)
