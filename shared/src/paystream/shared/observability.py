"""Logs (structlog JSON), metrics (Prometheus), traces (OpenTelemetry; context in Kafka headers)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence

import structlog
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import Counter, Gauge, Histogram

KafkaHeaders = Sequence[tuple[str, bytes]]

_configured = False


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    # aiokafka is chatty at INFO about every rebalance; keep warnings.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def configure_tracing(service: str, endpoint: str | None) -> TracerProvider:
    """Install a tracer provider; spans are exported only when an OTLP endpoint is configured."""
    global _configured
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        # Database spans only when they go somewhere: each costs CPU on every query.
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]
    if not _configured:
        trace.set_tracer_provider(provider)
        _configured = True
    return provider


def inject_headers(headers: list[tuple[str, bytes]] | None = None) -> list[tuple[str, bytes]]:
    """Add W3C trace context of the current span to Kafka message headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    out = list(headers or [])
    out.extend((k, v.encode()) for k, v in carrier.items())
    return out


def extract_context(headers: Iterable[tuple[str, bytes]] | None) -> object:
    carrier = {k: v.decode("latin-1") for k, v in (headers or ())}
    return propagate.extract(carrier)


# Metrics shared by all services; each is labelled by service so one Prometheus job covers all.
EVENTS_CONSUMED = Counter(
    "paystream_events_consumed_total",
    "Events consumed and committed",
    ["service", "topic", "outcome"],
)
# kind: transient (database or broker away while applying), failed (an isolated message whose
# handling raised; bounded by max_retries), commit, dlq_publish, fetch.
CONSUMER_RETRIES = Counter(
    "paystream_consumer_retries_total",
    "Consumer operations retried after a failure",
    ["service", "group", "topic", "kind"],
)
# reason: invalid (cannot be parsed or validated: dead-lettered at once), failed (retries spent).
DEAD_LETTERS = Counter(
    "paystream_consumer_dead_letters_total",
    "Messages sent to a dead-letter topic",
    ["service", "group", "topic", "reason"],
)
BATCH_SECONDS = Histogram(
    "paystream_consumer_batch_seconds",
    "Time to apply one consumed batch",
    ["service", "topic"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# Sampled by each consumer from its own position and the partition's high watermark (what the
# broker has), for the partitions assigned to this process: the instances of one group together
# cover every partition, and a partition that moves away stops being reported here.
CONSUMER_LAG = Gauge(
    "paystream_consumer_lag_messages",
    "Messages on the partition not yet consumed by this group (high watermark - position)",
    ["service", "group", "topic", "partition"],
)
# Sampled by the outbox relay in its loop: what waits to be published, and for how long the
# oldest has waited (0 when nothing waits). A backlog whose age keeps growing is a stuck relay.
OUTBOX_BACKLOG = Gauge(
    "paystream_outbox_backlog", "Outbox rows not yet published to Kafka", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "paystream_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet published (0 when the outbox is empty)",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "paystream_outbox_published_total", "Outbox rows published to Kafka", ["service", "topic"]
)
HTTP_REQUESTS = Counter(
    "paystream_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "paystream_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
