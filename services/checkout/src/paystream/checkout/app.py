"""The checkout app: HTTP API, payments.events consumer, outbox relay and the expiry sweep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from fastapi import FastAPI

from paystream.checkout import service
from paystream.checkout.catalog import load_catalog
from paystream.checkout.consumers import payment_events_handler
from paystream.checkout.endpoints import CheckoutContext, router
from paystream.checkout.settings import CheckoutSettings
from paystream.checkout.stripe_gateway import StripeCheckoutGateway
from paystream.shared import http
from paystream.shared.events import utcnow
from paystream.shared.runtime import ServiceRuntime

log = structlog.get_logger(__name__)


async def _expiry_sweep(runtime: ServiceRuntime, settings: CheckoutSettings) -> None:
    grace = timedelta(seconds=settings.order_expiry_grace_s)
    while True:
        try:
            async with runtime.pool.acquire() as conn, conn.transaction():
                n = await service.expire_overdue_orders(
                    conn,
                    now=utcnow(),
                    grace=grace,
                    orders_topic=settings.checkout_orders_topic,
                )
            if n:
                log.info("orders_expired", count=n)
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

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        relay = runtime.enable_outbox()
        runtime.add_consumer(
            topics=[settings.checkout_payments_topic],
            group_id=settings.checkout_consumer_group,
            handler=payment_events_handler(orders_topic=settings.checkout_orders_topic),
        )
        gateway = StripeCheckoutGateway(
            api_key=settings.stripe_secret_key.get_secret_value(),
            api_base=settings.stripe_api_base,
            timeout_s=settings.stripe_timeout_s,
            max_network_retries=settings.stripe_max_network_retries,
        )
        app.state.checkout = CheckoutContext(
            pool=runtime.pool,
            catalog=catalog,
            sessions=gateway,
            config=service.CheckoutConfig(
                orders_topic=settings.checkout_orders_topic,
                order_ttl=timedelta(minutes=settings.order_ttl_minutes),
                default_return_url=str(settings.default_return_url),
            ),
            wake_outbox=relay.wake,
        )
        app.state.runtime = runtime
        await runtime.start_workers()
        sweep = asyncio.create_task(_expiry_sweep(runtime, settings), name="expiry-sweep")
        try:
            yield
        finally:
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweep
            await runtime.stop()
            await gateway.aclose()

    app = http.create_app(
        title="paystream checkout",
        description="Credit packages, orders and their payment sessions.",
        settings=settings,
        lifespan=lifespan,
        readiness=runtime.readiness,
    )
    app.include_router(router)
    return app
