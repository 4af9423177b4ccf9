"""The ledger's FastAPI app: the domain routers, and in its lifespan the consumer of paid orders
and refunds, the outbox relay, the spend batcher, the time-driven jobs and the sandbox clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from paystream.ledger.consumers import CONSUMES, ledger_handler
from paystream.ledger.context import LedgerContext, Units
from paystream.ledger.expiry import endpoints as expiry_endpoints
from paystream.ledger.expiry.tasks import jobs_loop
from paystream.ledger.history import endpoints as history_endpoints
from paystream.ledger.holds import endpoints as holds_endpoints
from paystream.ledger.lots import endpoints as lots_endpoints
from paystream.ledger.refunds import endpoints as refunds_endpoints
from paystream.ledger.settings import LedgerSettings
from paystream.ledger.spending import endpoints as spending_endpoints
from paystream.ledger.spending.batcher import SpendBatcher
from paystream.ledger.thresholds import endpoints as thresholds_endpoints
from paystream.shared import http
from paystream.shared import sandbox as sandbox_endpoints
from paystream.shared.clock import Clock
from paystream.shared.runtime import ServiceRuntime, stop_tasks

DESCRIPTION = """Double-entry credit ledger made of lots. Grants a lot per paid order line (from
`orders.events`), with its unit, validity and cost; spends, holds, captures and releases credits
in one consumption order, never overdrawing and never touching an expired lot; expires lots
exactly at their time; revokes credits in proportion to refunds (from `payments.events`). Every
change is published to `ledger.events` through an outbox, from which a lost database is
restored."""


def create_app(settings: LedgerSettings | None = None) -> FastAPI:
    settings = settings or LedgerSettings()
    runtime = ServiceRuntime(
        settings, database=settings.database, migrations_dir=settings.migrations_dir
    )
    # The clock is started by the runtime (the shared sandbox clock in sandbox mode): it is set in
    # the lifespan, before the consumer runs, and the handler reads it from here.
    clocks: list[Clock] = []
    # Declared on the broker now, started in the lifespan; the AsyncAPI document reads them.
    runtime.add_consumer(
        topics=[settings.topics.orders_events, settings.topics.payments_events],
        group_id=settings.ledger_consumer_group,
        handler=ledger_handler(lambda: clocks[0]),
        event_types=CONSUMES,
        # Four of a payment's five events on these topics (succeeded, status changes) mean
        # nothing to the ledger: passed by their header, not parsed or kept in the inbox.
        only_listed=True,
    )
    runtime.add_publisher(settings.topics.ledger_events)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        tasks: list[asyncio.Task[None]] = []
        try:
            clock = runtime.clock
            clocks[:] = [clock]
            app.state.clock = clock
            relay = runtime.enable_outbox()
            relay.idle_s = settings.ledger_outbox_idle_s
            spender = SpendBatcher(
                runtime.pool,
                clock,
                max_batch=settings.ledger_spend_batch_max,
                in_flight=settings.ledger_spend_in_flight,
                on_commit=relay.wake,
            )
            app.state.ledger = LedgerContext(
                pool=runtime.pool,
                clock=clock,
                spender=spender,
                wake_outbox=relay.wake,
                units=Units(runtime.pool),
                settings=settings,
            )
            await runtime.start_workers()
            tasks.append(asyncio.create_task(spender.run(), name="spend-batcher"))
            tasks.append(
                asyncio.create_task(
                    jobs_loop(
                        runtime.pool,
                        clock,
                        every_s=settings.ledger_jobs_interval_s,
                        on_work=relay.wake,
                    ),
                    name="ledger-jobs",
                )
            )
            yield
        finally:
            await stop_tasks(tasks)
            await runtime.stop()

    app = http.create_app(
        title="paystream ledger",
        settings=settings,
        lifespan=lifespan,
        readiness=runtime.readiness,
        description=DESCRIPTION,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    for router in (
        lots_endpoints.router,
        spending_endpoints.router,
        holds_endpoints.router,
        history_endpoints.router,
        thresholds_endpoints.router,
        refunds_endpoints.router,
        expiry_endpoints.router,
        sandbox_endpoints.router,
    ):
        app.include_router(router)
    return app
