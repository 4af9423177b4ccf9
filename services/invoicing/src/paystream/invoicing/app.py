"""The invoicing FastAPI app: HTTP API plus the `payments.events` consumer, in one lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from paystream.invoicing.consumers import CONSUMES, handle_payment_events
from paystream.invoicing.documents import endpoints as documents_api
from paystream.invoicing.endpoints import router
from paystream.invoicing.service import waiting_refunds_loop
from paystream.invoicing.settings import InvoicingSettings
from paystream.invoicing.stats import endpoints as stats_api
from paystream.shared import http
from paystream.shared import sandbox as sandbox_endpoints
from paystream.shared.runtime import ServiceRuntime, stop_tasks


def create_app(settings: InvoicingSettings | None = None) -> FastAPI:
    s = settings or InvoicingSettings()
    runtime = ServiceRuntime(s, database=s.database, migrations_dir=s.migrations_dir)
    if s.invoicing_run_consumer:
        # Declared on the broker now, started in the lifespan; the AsyncAPI document reads it.
        runtime.add_consumer(
            topics=[s.topics.orders_events, s.topics.payments_events],
            group_id=s.invoicing_consumer_group,
            handler=handle_payment_events,
            event_types=CONSUMES,
            # Only paid orders and refunds make invoices and credit notes: the rest of these
            # topics is passed by its header, not parsed or kept in the inbox.
            only_listed=True,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        try:
            await runtime.start()
            # Invoicing only shows the shared sandbox time (GET /v1/sandbox/clock): it issues
            # invoices on real time, and each shows its order's payment time.
            app.state.clock = runtime.clock
            await documents_api.start(app, runtime.pool, s)
            await runtime.start_workers()
            if s.invoicing_run_consumer:
                tasks.append(
                    asyncio.create_task(
                        waiting_refunds_loop(
                            runtime.pool, every_s=s.invoicing_waiting_refunds_interval_s
                        ),
                        name="waiting-refunds",
                    )
                )
            yield
        finally:
            await stop_tasks(tasks)
            await runtime.stop()

    app = http.create_app(
        title="paystream invoicing",
        description=(
            "One gap-free numbered invoice per paid order (INV-<year>-<6 digits>) and one credit"
            " note per refund against it (CN-<year>-<6 digits>)."
        ),
        settings=s,
        lifespan=lifespan,
        readiness=runtime.readiness,
    )
    app.state.runtime = runtime
    app.include_router(router)
    app.include_router(documents_api.router)
    app.include_router(stats_api.router)
    app.include_router(sandbox_endpoints.router)
    return app
