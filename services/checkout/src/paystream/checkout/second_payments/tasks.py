"""The refunder: a background task that asks the providers for the refunds of second payments
that the consumer opened (see `service.receive`), once their transaction committed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import structlog

from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.second_payments.service import refund_due

log = structlog.get_logger(__name__)


async def refunder(
    pool: asyncpg.Pool, providers: ProviderRegistry, *, every_s: float, on_work: Callable[[], None]
) -> None:
    """Run forever: a round every `every_s`; after a round that asked, wake the outbox relay
    (a refund that succeeded at once is announced through it)."""
    while True:
        try:
            if await refund_due(pool, providers):
                on_work()
        except asyncio.CancelledError:
            raise
        except Exception:
            # Housekeeping: the next round asks again (idempotent on the refund id).
            log.exception("second_payment_refunder_failed")
        await asyncio.sleep(every_s)
