"""Background work of subscriptions: the sweep (what time makes due) and the Stripe sync (what
Stripe must charge next: a plan changed, a cancel at the period's end), each in rounds that
survive a database or Stripe that is away."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import asyncpg
import structlog

from paystream.checkout.providers import ProviderError
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.providers.stripe import StripeProvider
from paystream.checkout.subscriptions import repository as repo
from paystream.checkout.subscriptions.renewals import sweep
from paystream.checkout.subscriptions.service import Plans
from paystream.shared.db import TRANSIENT_DB_ERRORS, transaction

log = structlog.get_logger(__name__)


async def sweep_once(pool: asyncpg.Pool, plans: Plans) -> int:
    async with transaction(pool) as conn:
        return await sweep(conn, plans)


async def sweep_loop(
    pool: asyncpg.Pool, plans: Plans, *, every_s: float, on_work: Callable[[], None]
) -> None:
    while True:
        try:
            while await sweep_once(pool, plans):
                on_work()  # the outbox has the sweep's events
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("subscription_sweep_retry", error=repr(exc))
        await asyncio.sleep(every_s)


async def sync_stripe_once(pool: asyncpg.Pool, plans: Plans, stripe: StripeProvider) -> int:
    """Tell Stripe what each changed subscription charges next; outside any transaction while
    Stripe answers (the version compare keeps a change made meanwhile for the next round)."""
    async with pool.acquire() as conn:
        subs = await repo.unsynced(conn, 20)
    done = 0
    for sub in subs:
        assert sub.stripe_subscription_id is not None
        assert sub.currency is not None
        cancel = sub.next_plan_id == plans.free.id
        plan = plans.plan(sub.plan_id if cancel else sub.renewal_plan())
        try:
            await stripe.update_subscription(
                sub.stripe_subscription_id,
                price=None if cancel else plan.price_in(sub.currency),
                interval=plan.interval,
                cancel_at_period_end=cancel,
                idempotency_key=f"paystream-subscription-{sub.id}-v{sub.version}",
            )
        except ProviderError as exc:
            log.warning("stripe_subscription_sync_failed", subscription_id=sub.id, error=str(exc))
            continue
        async with transaction(pool) as conn:
            await repo.mark_synced(conn, uuid.UUID(sub.id), sub.version)
        done += 1
    return done


async def sync_stripe_loop(
    pool: asyncpg.Pool, plans: Plans, providers: ProviderRegistry, *, every_s: float
) -> None:
    stripe = providers.by_name("stripe")
    if not isinstance(stripe, StripeProvider):
        return
    while True:
        try:
            await sync_stripe_once(pool, plans, stripe)
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("stripe_subscription_sync_retry", error=repr(exc))
        await asyncio.sleep(every_s)
