from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from paystream.shared.observability import extract_context, inject_headers


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
