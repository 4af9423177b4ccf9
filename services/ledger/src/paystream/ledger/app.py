"""The ledger's FastAPI app: HTTP API plus, in its lifespan, the payments consumer and the
outbox relay composed by ServiceRuntime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from paystream.ledger.consumers import CONSUMES, handle_payment_events
from paystream.ledger.endpoints import router
from paystream.ledger.settings import LedgerSettings
from paystream.shared import http
from paystream.shared.runtime import ServiceRuntime

DESCRIPTION = """Double-entry credit ledger. Grants credits exactly once per paid order and revokes
them in proportion to refunds, once per refund, never below zero (from `payments.events`),
serves balances and history, and spends credits idempotently without ever overdrawing. Publishes
`paystream.credits.granted.v1` / `.spent.v1` / `.revoked.v1` to `ledger.events` through an
outbox."""


def create_app(settings: LedgerSettings | None = None) -> FastAPI:
    settings = settings or LedgerSettings()
    runtime = ServiceRuntime(
        settings, database=settings.database, migrations_dir=settings.migrations_dir
    )
    # Declared on the broker now, started in the lifespan; the AsyncAPI document reads them.
    runtime.add_consumer(
        topics=[settings.topics.orders_events, settings.topics.payments_events],
        group_id=settings.ledger_consumer_group,
        handler=handle_payment_events,
        event_types=CONSUMES,
    )
    runtime.add_publisher(settings.topics.ledger_events)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            relay = runtime.enable_outbox()
            relay.idle_s = settings.ledger_outbox_idle_s
            await runtime.start_workers()
            yield
        finally:
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
    app.include_router(router)
    return app
