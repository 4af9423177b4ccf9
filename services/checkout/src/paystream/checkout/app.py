"""The checkout app: composes the domain routers, the payments.events consumer, the outbox relay
and the background tasks (the order expiry sweep, the reconciler, the providers' workers such as
the USDT watcher)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from fastapi import FastAPI

from paystream.checkout.auto_recharge import endpoints as auto_recharge_endpoints
from paystream.checkout.auto_recharge.domain import AutoRechargeConfig
from paystream.checkout.auto_recharge.service import Recharger
from paystream.checkout.auto_recharge.tasks import recharge_loop
from paystream.checkout.catalog import endpoints as catalog_endpoints
from paystream.checkout.catalog.service import load_catalog
from paystream.checkout.consumers import (
    CONSUMES,
    LEDGER_CONSUMES,
    ledger_events_handler,
    payment_events_handler,
)
from paystream.checkout.context import CheckoutContext
from paystream.checkout.orders import endpoints as orders_endpoints
from paystream.checkout.orders.service import CheckoutConfig, OrderLimits
from paystream.checkout.orders.tasks import expiry_sweep
from paystream.checkout.payment_methods import endpoints as payment_methods_endpoints
from paystream.checkout.plans import endpoints as plans_endpoints
from paystream.checkout.pricing import endpoints as pricing_endpoints
from paystream.checkout.providers.factory import build_providers, stripe_method_types
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.providers.stripe_saved import StripeSavedMethods
from paystream.checkout.quotes import endpoints as quotes_endpoints
from paystream.checkout.quotes.signing import Signer, check_quote_key
from paystream.checkout.reconcile import endpoints as reconcile_endpoints
from paystream.checkout.reconcile.service import ReconcileConfig
from paystream.checkout.reconcile.tasks import reconciler
from paystream.checkout.refunds import endpoints as refunds_endpoints
from paystream.checkout.reviews import endpoints as reviews_endpoints
from paystream.checkout.second_payments.tasks import refunder
from paystream.checkout.settings import CheckoutSettings
from paystream.checkout.settlement import endpoints as settlement_endpoints
from paystream.checkout.settlement.tasks import daily_settlement
from paystream.checkout.stats import endpoints as stats_endpoints
from paystream.checkout.subscriptions import endpoints as subscriptions_endpoints
from paystream.checkout.subscriptions.domain import Timing
from paystream.checkout.subscriptions.service import Plans
from paystream.checkout.subscriptions.tasks import sweep_loop, sync_stripe_loop
from paystream.checkout.usdt import endpoints as usdt_endpoints
from paystream.shared import http
from paystream.shared import sandbox as sandbox_endpoints
from paystream.shared.events import (
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundSucceededV1,
)
from paystream.shared.runtime import ServiceRuntime, stop_tasks

log = structlog.get_logger(__name__)


def create_app(settings: CheckoutSettings | None = None) -> FastAPI:
    settings = settings or CheckoutSettings()
    # Read the catalog and check the quote key before anything starts: a bad file or a
    # development key in production stops checkout with a clear error.
    catalog = load_catalog(settings.catalog_file)
    check_quote_key(settings.quote_key.get_secret_value(), sandbox=settings.sandbox)
    runtime = ServiceRuntime(
        settings, database=settings.database, migrations_dir=settings.migrations_dir
    )

    # Subscriptions decide on the clock, which the runtime starts: set in the lifespan, before
    # the consumer runs, and read by the handler from here.
    plans: list[Plans] = []
    # Auto-recharge's context, set in the lifespan like plans; the worker's wake-up.
    rechargers: list[Recharger] = []
    recharge_wake = asyncio.Event()
    # Declared on the broker now, started in the lifespan; the AsyncAPI document reads them.
    runtime.add_consumer(
        topics=[settings.topics.payments_events],
        group_id=settings.checkout_consumer_group,
        handler=payment_events_handler(
            lambda: plans[0], lambda: plans[0].clock, settings.second_payment_policy
        ),
        event_types=CONSUMES,
    )
    runtime.add_consumer(
        topics=[settings.topics.ledger_events],
        group_id=f"{settings.checkout_consumer_group}-auto-recharge",
        handler=ledger_events_handler(lambda: rechargers[0], recharge_wake.set),
        event_types=LEDGER_CONSUMES,
        # Every spend and grant is on ledger.events; only balance.low matters here.
        only_listed=True,
        fetch_wait_ms=settings.auto_recharge_fetch_wait_ms,
    )
    runtime.add_publisher(settings.topics.orders_events)
    # Refunds, USDT payments found on chain and payments learned by asking the provider (sync,
    # the reconciler) are announced by checkout itself.
    runtime.add_publisher(
        settings.topics.payments_events,
        (PaymentSucceededV1, PaymentFailedV1, RefundSucceededV1, RefundFailedV1),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        clock = runtime.clock
        app.state.clock = clock
        relay = runtime.enable_outbox()
        built = build_providers(settings, runtime.pool)
        providers = ProviderRegistry(built.providers)
        log.info("payment_providers", providers=list(providers.names))
        config = CheckoutConfig(
            order_ttl=timedelta(minutes=settings.order_ttl_minutes),
            default_return_url=str(settings.default_return_url),
            return_url_hosts=frozenset(settings.return_url_hosts),
            limits=OrderLimits(
                max_open=settings.max_open_orders_per_user,
                max_created=settings.max_orders_per_user_per_window,
                window=timedelta(seconds=settings.order_rate_window_s),
            ),
            sync_min_interval=timedelta(seconds=settings.order_sync_min_interval_s),
            second_payment=settings.second_payment_policy,
        )
        plans[:] = [
            Plans(
                catalog=catalog,
                clock=clock,
                timing=Timing(
                    remind_before=timedelta(days=settings.renewal_reminder_days),
                    grace=timedelta(days=settings.renewal_grace_days),
                ),
                config=config,
            )
        ]
        stripe_saved = StripeSavedMethods(
            api_key=settings.stripe_secret_key.get_secret_value(),
            api_base=settings.stripe_customers_api_base or settings.stripe_api_base,
            timeout_s=settings.stripe_timeout_s,
            max_network_retries=settings.stripe_max_network_retries,
        )
        signer = Signer(settings.quote_key.get_secret_value(), clock)
        rechargers[:] = [
            Recharger(
                catalog=catalog,
                signer=signer,
                clock=clock,
                config=AutoRechargeConfig(
                    max_tries=settings.auto_recharge_max_tries,
                    backoff=timedelta(seconds=settings.auto_recharge_backoff_s),
                    backoff_max=timedelta(seconds=settings.auto_recharge_backoff_max_s),
                    lease=timedelta(seconds=settings.auto_recharge_lease_s),
                    action_url=str(settings.auto_recharge_action_url),
                ),
                checkout=config,
                stripe=stripe_saved,
            )
        ]
        app.state.checkout = CheckoutContext(
            pool=runtime.pool,
            catalog=catalog,
            providers=providers,
            config=config,
            wake_outbox=relay.wake,
            stripe_types=stripe_method_types,
            clock=clock,
            signer=signer,
            quote_ttl=timedelta(seconds=settings.quote_ttl_s),
            plans=plans[0],
            stripe_saved=stripe_saved,
            recharger=rechargers[0],
        )
        app.state.runtime = runtime
        await runtime.start_workers()
        sweep = expiry_sweep(
            runtime.pool,
            providers,
            every_s=settings.order_expiry_sweep_s,
            grace=timedelta(seconds=settings.order_expiry_grace_s),
        )
        tasks = [
            asyncio.create_task(sweep, name="expiry-sweep"),
            *(asyncio.create_task(w, name="provider-worker") for w in built.workers),
        ]
        # Refunds of second payments (the default policy), made once the consumer committed.
        tasks.append(
            asyncio.create_task(
                refunder(
                    runtime.pool,
                    providers,
                    every_s=settings.second_payment_refund_poll_s,
                    on_work=relay.wake,
                ),
                name="second-payment-refunder",
            )
        )
        tasks.append(
            asyncio.create_task(
                recharge_loop(
                    runtime.pool,
                    rechargers[0],
                    every_s=settings.auto_recharge_poll_s,
                    wake=recharge_wake,
                    on_work=relay.wake,
                ),
                name="auto-recharge",
            )
        )
        if catalog.plans:
            tasks += [
                asyncio.create_task(
                    sweep_loop(
                        runtime.pool,
                        plans[0],
                        every_s=settings.subscription_sweep_s,
                        on_work=relay.wake,
                    ),
                    name="subscription-sweep",
                ),
                asyncio.create_task(
                    sync_stripe_loop(
                        runtime.pool,
                        plans[0],
                        providers,
                        every_s=settings.stripe_subscription_sync_s,
                    ),
                    name="stripe-subscription-sync",
                ),
            ]
        if settings.reconcile_interval_s > 0:
            reconcile = reconciler(
                runtime.pool,
                providers,
                ReconcileConfig(
                    order_min_age=timedelta(seconds=settings.reconcile_order_min_age_s),
                    refund_min_age=timedelta(seconds=settings.reconcile_refund_min_age_s),
                    backoff=timedelta(seconds=settings.reconcile_backoff_s),
                    backoff_max=timedelta(seconds=settings.reconcile_backoff_max_s),
                    batch=settings.reconcile_batch,
                    second_payment=settings.second_payment_policy,
                ),
                plans[0],
                every_s=settings.reconcile_interval_s,
                wake_outbox=relay.wake,
            )
            tasks.append(asyncio.create_task(reconcile, name="reconciler"))
        if settings.settlement_hour_utc is not None:
            settlement = daily_settlement(
                runtime.pool,
                providers,
                hour_utc=settings.settlement_hour_utc,
                every_s=settings.settlement_check_s,
            )
            tasks.append(asyncio.create_task(settlement, name="daily-settlement"))
        try:
            yield
        finally:
            await stop_tasks(tasks)
            await runtime.stop()
            await providers.aclose()
            await stripe_saved.aclose()

    app = http.create_app(
        title="paystream checkout",
        description="Credit packages, orders and their payment sessions.",
        settings=settings,
        lifespan=lifespan,
        readiness=runtime.readiness,
    )
    app.state.runtime = runtime
    for router in (
        catalog_endpoints.router,
        orders_endpoints.router,
        refunds_endpoints.router,
        reviews_endpoints.router,
        usdt_endpoints.router,
        stats_endpoints.router,
        plans_endpoints.router,
        subscriptions_endpoints.router,
        pricing_endpoints.router,
        quotes_endpoints.router,
        sandbox_endpoints.router,
        # issue 15: the reconciler's status and the daily settlement (admin)
        reconcile_endpoints.router,
        settlement_endpoints.router,
        payment_methods_endpoints.router,
        auto_recharge_endpoints.router,
    ):
        app.include_router(router)
    return app
