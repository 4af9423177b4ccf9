"""The webhook-ingest FastAPI app: the shared app factory, a Kafka-only runtime, and one route
per provider of `paystream.notifications.registry`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

from paystream.notifications.provider import Verifier
from paystream.notifications.registry import PROVIDERS
from paystream.shared import sandbox as sandbox_endpoints
from paystream.shared.http import create_app as create_base_app
from paystream.shared.kafka import create_producer, until_kafka_answers
from paystream.shared.providers.settings import ProviderSettings
from paystream.shared.runtime import ServiceRuntime
from paystream.webhook_ingest.endpoints import mount
from paystream.webhook_ingest.pipeline import Pipeline
from paystream.webhook_ingest.publish import AckedPublisher
from paystream.webhook_ingest.settings import WebhookIngestSettings


def create_app(
    settings: WebhookIngestSettings | None = None,
    providers: Mapping[str, ProviderSettings | None] | None = None,
) -> FastAPI:
    """`providers` gives a provider's settings instead of reading them from its environment
    variables (None: not configured)."""
    settings = settings or WebhookIngestSettings()
    # Stateless: no database, only Kafka (the topics it ensures, an acks=all producer).
    runtime = ServiceRuntime(settings, database=None)
    for topic in (settings.topics.webhooks_raw, settings.topics.payments_events):
        runtime.add_publisher(topic)
    # Built before start so a bad or partial configuration fails at once, not at the first
    # notification; a provider without settings answers 503 provider_not_configured.
    verifiers: dict[str, Verifier | None] = {}
    for provider in PROVIDERS:
        given = providers or {}
        config = given[provider.name] if provider.name in given else provider.settings_type.load()
        verifiers[provider.name] = None if config is None else provider.verifier(config)
    pipelines: dict[str, Pipeline] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        app.state.clock = runtime.clock
        # The request path's own producer: see `publish` for why it is not the broker's.
        producer = create_producer(
            settings.kafka_bootstrap, settings.service_name, security=settings.kafka_security()
        )
        await until_kafka_answers(producer.start)
        app.state.producer = producer
        publisher = AckedPublisher(producer, ack_timeout_s=settings.kafka_ack_timeout_s)
        for provider in PROVIDERS:
            pipelines[provider.name] = Pipeline(
                provider,
                verifiers[provider.name],
                publisher,
                settings.topics,
            )
        try:
            yield
        finally:
            pipelines.clear()
            await producer.stop()
            await runtime.stop()

    app = create_base_app(
        title="paystream webhook-ingest",
        description="Verifies provider webhooks and publishes them to Kafka; answers only after "
        "Kafka acknowledged.",
        settings=settings,
        lifespan=lifespan,
        readiness=runtime.readiness,
        # Notifications are verified byte for byte by their own routes, under their own cap.
        raw_body_prefixes=tuple(p.path for p in PROVIDERS),
    )
    app.state.runtime = runtime
    app.state.settings = settings
    mount(app, PROVIDERS, pipelines, max_body_bytes=settings.webhook_max_body_bytes)
    if settings.sandbox:
        # Only to show the one sandbox time: signatures are checked on real time, as the
        # providers sign on it. Outside sandbox mode this service exposes webhooks only.
        app.include_router(sandbox_endpoints.router)
    return app
