"""The app factory every service starts from: error format, method refusals, one server span."""

import uuid

import httpx
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from paystream.shared.errors import PaystreamError
from paystream.shared.http import create_app
from paystream.shared.settings import BaseServiceSettings


def _app() -> httpx.AsyncClient:
    router = APIRouter()

    @router.post("/v1/things/{thing_id}")
    async def make(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @router.get("/v1/broken")
    async def broken() -> dict[str, str]:
        raise PaystreamError("it broke")

    app = create_app(title="t", settings=BaseServiceSettings(service_name="t"), lifespan=None)
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_wrong_method_is_405_in_the_error_format_not_500() -> None:
    async with _app() as http:
        r = await http.get("/v1/things/1")
    assert r.status_code == 405
    assert r.json() == {"error": {"code": "method_not_allowed", "message": "Method Not Allowed"}}


async def test_unknown_path_is_404_in_the_error_format() -> None:
    async with _app() as http:
        r = await http.get("/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_one_server_span_per_request_named_by_route_and_parented_by_traceparent() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_id = uuid.uuid4().hex
    parent = uuid.uuid4().hex[:16]
    tracer_before = trace.get_tracer_provider()
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]  # let this test install its own
    trace._TRACER_PROVIDER_SET_ONCE._done = False  # type: ignore[attr-defined]
    trace.set_tracer_provider(provider)
    try:
        async with _app() as http:
            r = await http.post(
                "/v1/things/42", headers={"traceparent": f"00-{trace_id}-{parent}-01"}
            )
            await http.get("/healthz")
    finally:
        trace._TRACER_PROVIDER = tracer_before  # type: ignore[attr-defined]
    assert r.status_code == 200
    [span] = exporter.get_finished_spans()  # /healthz is not traced
    assert span.name == "POST /v1/things/{thing_id}"
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == parent
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 200
    # The stable HTTP semantic conventions' names, not the old http.method / http.status_code.
    assert dict(span.attributes) == {
        "http.request.method": "POST",
        "url.scheme": "http",
        "url.path": "/v1/things/42",
        "http.route": "/v1/things/{thing_id}",
        "http.response.status_code": 200,
    }


async def test_a_server_error_marks_its_span_and_an_unknown_method_is_other() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer_before = trace.get_tracer_provider()
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]  # let this test install its own
    trace._TRACER_PROVIDER_SET_ONCE._done = False  # type: ignore[attr-defined]
    trace.set_tracer_provider(provider)
    try:
        async with _app() as http:
            broken = await http.get("/v1/broken")
            odd = await http.request("BREW", "/v1/things/1")
    finally:
        trace._TRACER_PROVIDER = tracer_before  # type: ignore[attr-defined]
    assert (broken.status_code, odd.status_code) == (500, 405)
    failed, other = exporter.get_finished_spans()
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "500"
    assert failed.status.status_code is StatusCode.ERROR
    assert other.attributes is not None
    assert other.attributes["http.request.method"] == "_OTHER"
    assert other.status.status_code is StatusCode.UNSET  # a refusal is not a server error
