"""The checkout app: HTTP API, payments.events consumer, outbox relay and the expiry sweep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from fastapi import FastAPI

from paystream.checkout import service, usdt_admin
from paystream.checkout.catalog import load_catalog
from paystream.checkout.consumers import handle_payment_events
from paystream.checkout.endpoints import CheckoutContext, router
from paystream.checkout.providers.factory import build_providers, stripe_method_types
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.settings import CheckoutSettings
from paystream.shared import http
from paystream.shared.events import (
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundSucceededV1,
    utcnow,
)
from paystream.shared.runtime import ServiceRuntime

log = structlog.get_logger(__name__)


async def _expiry_sweep(
    runtime: ServiceRuntime, settings: CheckoutSettings, providers: ProviderRegistry
) -> None:
    grace = timedelta(seconds=settings.order_expiry_grace_s)
    while True:
        try:
            async with runtime.pool.acquire() as conn, conn.transaction():
                expired = await service.expire_overdue_orders(
                    conn,
                    now=utcnow(),
                    grace=grace,
                )
            if expired:
                log.info("orders_expired", count=len(expired))
                await service.close_expired_at_providers(expired, providers)
        except Exception:
            # The sweep is housekeeping: the next round retries; failures are logged, not fatal.
            log.exception("expiry_sweep_failed")
        await asyncio.sleep(settings.order_expiry_sweep_s)


def create_app(settings: CheckoutSettings | None = None) -> FastAPI:
    settings = settings or CheckoutSettings()
    # Read the catalog before anything starts: a bad file stops checkout with a clear error.
    catalog = load_catalog(settings.catalog_file)
    runtime = ServiceRuntime(
        settings, database=settings.database, migrations_dir=settings.migrations_dir
    )

    # Declared on the broker now, started in the lifespan; the AsyncAPI document reads them.
    runtime.add_consumer(
        topics=[settings.topics.payments_events],
        group_id=settings.checkout_consumer_group,
        handler=handle_payment_events,
        event_types=(PaymentSucceededV1, PaymentFailedV1, RefundSucceededV1, RefundFailedV1),
    )
    runtime.add_publisher(settings.topics.orders_events)
    # Refunds, and USDT payments found on chain, are announced by checkout itself.
    runtime.add_publisher(
        settings.topics.payments_events, (PaymentSucceededV1, RefundSucceededV1, RefundFailedV1)
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        relay = runtime.enable_outbox()
        built = build_providers(settings, runtime.pool)
        providers = ProviderRegistry(built.providers)
        log.info("payment_providers", providers=list(providers.names))
        app.state.checkout = CheckoutContext(
            pool=runtime.pool,
            catalog=catalog,
            providers=providers,
            config=service.CheckoutConfig(
                order_ttl=timedelta(minutes=settings.order_ttl_minutes),
                default_return_url=str(settings.default_return_url),
            ),
            wake_outbox=relay.wake,
            stripe_types=stripe_method_types,
        )
        app.state.runtime = runtime
        await runtime.start_workers()
        tasks = [
            asyncio.create_task(_expiry_sweep(runtime, settings, providers), name="expiry-sweep"),
            *(asyncio.create_task(w, name="provider-worker") for w in built.workers),
        ]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            await runtime.stop()
            await providers.aclose()

    app = http.create_app(
        title="paystream checkout",
        description="Credit packages, orders and their payment sessions.",
        settings=settings,
        lifespan=lifespan,
        readiness=runtime.readiness,
    )
    app.state.runtime = runtime
    app.include_router(router)
    app.include_router(usdt_admin.router)
    return app
