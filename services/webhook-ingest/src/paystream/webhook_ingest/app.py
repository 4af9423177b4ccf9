"""The webhook-ingest FastAPI app: the shared app factory plus a Kafka-only runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from paystream.shared.http import create_app as create_base_app
from paystream.shared.runtime import ServiceRuntime
from paystream.webhook_ingest.alipay import alipay_router, build_alipay_service
from paystream.webhook_ingest.endpoints import FastPath, StripeWebhookEndpoint, router
from paystream.webhook_ingest.service import StripeWebhookService
from paystream.webhook_ingest.settings import WebhookIngestSettings
from paystream.webhook_ingest.signatures import StripeSignatureVerifier
from paystream.webhook_ingest.wechatpay import wechatpay_config, wechatpay_router


def create_app(settings: WebhookIngestSettings | None = None) -> FastAPI:
    settings = settings or WebhookIngestSettings()
    # Stateless: no database, only the acks=all producer (and the shared topics it ensures).
    runtime = ServiceRuntime(settings, database=None)
    # Built before start so a bad secret configuration fails at once, not at the first webhook.
    verifier = StripeSignatureVerifier(
        settings.webhook_secrets(), tolerance_s=settings.stripe_webhook_tolerance_s
    )
    wechatpay = wechatpay_config(settings)  # None: the route answers 503

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        endpoint.service = StripeWebhookService(
            producer=runtime.producer,
            verifier=verifier,
            raw_topic=settings.topics.webhooks_raw,
            payments_topic=settings.topics.payments_events,
            ack_timeout_s=settings.kafka_ack_timeout_s,
        )
        app.state.alipay_service = build_alipay_service(settings, runtime.producer)
        app.state.wechatpay_webhook_service = wechatpay and wechatpay.service(runtime.producer)
        try:
            yield
        finally:
            await runtime.stop()

    app = create_base_app(
        title="paystream webhook-ingest",
        description="Verifies provider webhooks and publishes them to Kafka; answers only after "
        "Kafka acknowledged.",
        settings=settings,
        lifespan=lifespan,
        readiness=runtime.readiness,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    # Made after the base app configured tracing, so that it gets the real tracer; the lifespan
    # above gives it its service.
    endpoint = StripeWebhookEndpoint(
        service_name=settings.service_name, max_body_bytes=settings.webhook_max_body_bytes
    )
    app.state.stripe_webhook_endpoint = endpoint
    app.include_router(router)
    app.include_router(alipay_router)
    app.include_router(wechatpay_router)
    # The webhook route is answered in front of the whole middleware stack (tracing, error
    # handlers, metrics; see endpoints.py). Starlette builds that stack on the first request, so
    # the front is added when it is built, whatever is added to the app until then.
    stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: FastPath(stack(), endpoint)  # type: ignore[method-assign]
    return app
