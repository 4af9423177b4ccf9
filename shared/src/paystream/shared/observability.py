"""Logs (structlog JSON), metrics (Prometheus), traces (OpenTelemetry; context in Kafka headers)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence

import structlog
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes
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


class ServiceTracerProvider(TracerProvider):
    """The SDK's tracer provider, whose spans are recorded only once it has a span processor,
    i.e. somewhere to send them (the OTLP exporter, a test's in-memory exporter).

    Until then every span is non-recording (OpenTelemetry's DROP decision): it still has a trace
    id, continues an incoming traceparent, is current while the request runs and is propagated
    in Kafka headers, but none of a recorded span's bookkeeping (attributes kept under a lock,
    name, status, timestamps) is done for a span nobody will read. That bookkeeping was ~12 us of
    the ~200 us of CPU a verified webhook costs (a span 18.6-19.0 us recorded, 6.8-7.5 us not,
    OpenTelemetry 1.45 on this machine). A span propagated from a service that records nothing
    is marked not sampled; consumers link to it rather than continue it, so a downstream service
    that exports still records its own spans.
    """

    def __init__(self, resource: Resource) -> None:
        self.exporting = False
        super().__init__(sampler=_RecordWhenExporting(self), resource=resource)

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.exporting = True


class _RecordWhenExporting(Sampler):
    """Once `provider` exports, the sampler the SDK would have chosen (OTEL_TRACES_SAMPLER, by
    default `ParentBased(ALWAYS_ON)`); DROP before."""

    def __init__(self, provider: ServiceTracerProvider) -> None:
        self._provider = provider
        # The SDK's choice, read the SDK's way (a provider made without a sampler).
        self._exporting: Sampler = TracerProvider(shutdown_on_exit=False).sampler

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if self._provider.exporting:
            return self._exporting.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.DROP, None, parent.trace_state if parent.is_valid else None)

    def get_description(self) -> str:
        return f"RecordWhenExporting{{{type(self._exporting).__name__}}}"


def configure_tracing(service: str, endpoint: str | None) -> TracerProvider:
    """Install a tracer provider; spans are recorded and exported only when an OTLP endpoint is
    configured (`ServiceTracerProvider`)."""
    global _configured
    provider = ServiceTracerProvider(resource=Resource.create({"service.name": service}))
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
