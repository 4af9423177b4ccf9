import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from paystream.shared.observability import ServiceTracerProvider, extract_context, inject_headers


def test_trace_context_travels_in_kafka_headers() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("webhook") as span:
        headers = inject_headers([("ce_type", b"x")])
        sent = span.get_span_context()
    assert headers[0] == ("ce_type", b"x")
    assert any(k == "traceparent" for k, _ in headers)
    ctx = extract_context(headers)
    received = trace.get_current_span(ctx).get_span_context()  # type: ignore[arg-type]
    assert received.trace_id == sent.trace_id
    assert received.span_id == sent.span_id


def test_no_headers_means_no_parent() -> None:
    ctx = extract_context(None)
    assert not trace.get_current_span(ctx).get_span_context().is_valid  # type: ignore[arg-type]


def test_a_provider_without_an_exporter_records_nothing_yet_continues_and_propagates_traces() -> (
    None
):
    provider = ServiceTracerProvider(resource=Resource.create({"service.name": "test"}))
    tracer = provider.get_tracer("test")
    caller_trace, caller_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    incoming = extract_context([("traceparent", f"00-{caller_trace}-{caller_span}-01".encode())])
    with tracer.start_as_current_span("webhook", context=incoming) as span:  # type: ignore[arg-type]
        headers = dict(inject_headers())
    assert not span.is_recording()
    _, trace_id, span_id, flags = headers["traceparent"].decode().split("-")
    assert trace_id == caller_trace  # the caller's trace goes on, in Kafka headers and logs
    assert span_id == format(span.get_span_context().span_id, "016x") != caller_span
    assert flags == "00"  # nothing recorded here: consumers link to it, they do not continue it
    with tracer.start_as_current_span("root") as root:
        assert root.get_span_context().is_valid  # a trace of its own, without a caller


def test_once_it_has_a_span_processor_spans_are_recorded_and_exported() -> None:
    provider = ServiceTracerProvider(resource=Resource.create({"service.name": "test"}))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("webhook") as span:
        span.set_attribute("http.route", "/webhooks/stripe")
    [finished] = exporter.get_finished_spans()
    assert finished.name == "webhook"
    assert finished.context is not None
    assert finished.context.trace_flags.sampled
    assert dict(finished.attributes or {}) == {"http.route": "/webhooks/stripe"}


def test_once_exporting_it_samples_as_otel_traces_sampler_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    provider = ServiceTracerProvider(resource=Resource.create({"service.name": "test"}))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("webhook") as span:
        assert not span.is_recording()
    assert exporter.get_finished_spans() == ()
