"""The FastAPI app every service starts from: one error format, health, readiness, metrics,
tracing, and the uvicorn entry point."""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from opentelemetry import context, propagate, trace
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.semconv.attributes.url_attributes import URL_PATH, URL_SCHEME
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paystream.shared import openapi
from paystream.shared.auth import DEFAULT_POLICY, JwksVerifier, TokenPolicy, authenticate
from paystream.shared.errors import PaystreamError
from paystream.shared.guard import InputGuardMiddleware, authenticate_first, checked_request
from paystream.shared.observability import (
    HTTP_REQUESTS,
    HTTP_SECONDS,
    configure_logging,
    configure_tracing,
)
from paystream.shared.settings import BaseServiceSettings

log = structlog.get_logger(__name__)

Readiness = Callable[[], Awaitable[dict[str, str]]]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


class ObservabilityMiddleware:
    """One server span and the HTTP metrics per request, labelled by route template.

    Pure ASGI, on every service's hot path, so it reads only the trace headers the propagators
    know and keeps its metric children. The span continues an incoming W3C `traceparent` (a
    trace crosses HTTP), is current while the app runs (producers put its context in Kafka
    headers), and carries the stable HTTP semantic conventions' attributes. It stays ours rather
    than opentelemetry-instrumentation-asgi for cost: see the webhook-ingest README.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.tracer = trace.get_tracer("paystream.http")
        # The header names the configured propagators read (traceparent, tracestate, baggage).
        self._trace_fields = frozenset(
            f.encode("latin-1") for f in propagate.get_global_textmap().fields
        )
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._seconds: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope.get("method", "")
        status = 500  # what is counted if nothing is answered

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        span: Span | None = None
        token: object = None
        if scope.get("path") not in _UNTRACED:
            carrier: dict[str, str] | None = None
            for name, value in scope["headers"]:
                if name in self._trace_fields:
                    carrier = carrier or {}
                    carrier.setdefault(name.decode("latin-1"), value.decode("latin-1"))
            parent = propagate.extract(carrier) if carrier else None
            span = self.tracer.start_span(
                method,
                context=parent,
                kind=SpanKind.SERVER,
                attributes={
                    HTTP_REQUEST_METHOD: method if method in _METHODS else "_OTHER",
                    URL_SCHEME: scope.get("scheme", "http"),
                    URL_PATH: scope.get("path", ""),
                },
            )
            token = context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if span is not None:
                span.record_exception(exc)
            raise
        finally:
            # FastAPI routes put their template in the scope; plain Starlette routes (/docs,
            # /openapi.json) only their endpoint, and their paths are static.
            route = getattr(scope.get("route"), "path", None) or (
                scope.get("path") if "endpoint" in scope else None
            )
            self._observe(method, route or "unmatched", status, time.perf_counter() - started)
            if span is not None:
                attributes: dict[str, str | int] = {HTTP_RESPONSE_STATUS_CODE: status}
                if route:
                    span.update_name(f"{method} {route}")
                    attributes[HTTP_ROUTE] = route
                if status >= 500:
                    attributes[ERROR_TYPE] = str(status)
                    span.set_status(Status(StatusCode.ERROR))
                span.set_attributes(attributes)
                span.end()
                context.detach(token)  # type: ignore[arg-type]

    def _observe(self, method: str, route: str, status: int, seconds: float) -> None:
        # labels() takes a lock and builds a key on every call: the children are kept here.
        counter = self._requests.get((method, route, status))
        if counter is None:
            counter = HTTP_REQUESTS.labels(self.service, method, route, str(status))
            self._requests[(method, route, status)] = counter
        counter.inc()
        histogram = self._seconds.get((method, route))
        if histogram is None:
            histogram = HTTP_SECONDS.labels(self.service, method, route)
            self._seconds[(method, route)] = histogram
        histogram.observe(seconds)


_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)
# Probes and scrapes would drown real traces.
_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})


def create_app(
    *,
    title: str,
    settings: BaseServiceSettings,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None,
    readiness: Readiness | None = None,
    description: str = "",
    raw_body_prefixes: tuple[str, ...] = (),
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name, settings.otel_exporter_endpoint)
    apart = settings.ops_port is not None
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        # With an ops port, the documents are served there (`ops_app`), not here.
        docs_url=None if apart else "/docs",
        redoc_url=None if apart else "/redoc",
        openapi_url=None if apart else "/openapi.json",
        generate_unique_id_function=openapi.operation_id,
        # Before every route's own dependencies: authentication, then a refused body (guard.py).
        dependencies=[Depends(checked_request)],
    )
    app.openapi = openapi.contract(app)  # type: ignore[method-assign]
    app.state.jwt_secret = (
        settings.jwt_secret.get_secret_value() if settings.accepts_hs256() else None
    )
    app.state.token_policy = token_policy(settings)
    if settings.jwt_jwks_url is not None:
        app.state.jwks = JwksVerifier(
            settings.jwt_jwks_url,
            app.state.token_policy,
            cache_s=settings.jwt_jwks_cache_s,
            refetch_cooldown_s=settings.jwt_jwks_refetch_cooldown_s,
        )
    app.state.readiness = readiness

    @app.exception_handler(PaystreamError)
    async def _paystream_error(_: Request, exc: PaystreamError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            # FastAPI parses the body before any dependency runs: authentication comes first.
            try:
                await authenticate_first(request)
            except PaystreamError as refused:
                return JSONResponse(refused.body(), status_code=refused.status_code)
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body("validation_error", "request is invalid", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(_: Request, exc: ClientDisconnect) -> None:
        # The client left before its body was read: nobody is there to answer, and nothing was
        # done for it. Counted (status 500, nothing sent) by ObservabilityMiddleware.
        return None

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error=repr(exc))
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        # Which check fails is for everyone (a load balancer, the Helm alert's reader); why
        # (exception text: hosts, database names, driver errors) only for an operator's token
        # or on the ops port.
        return await readiness_answer(app, detailed=await _is_operator(request))

    if not apart:

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> PlainTextResponse:
            return metrics_answer()

    # Inside the observability middleware, so its refusals are traced and counted too.
    app.add_middleware(
        InputGuardMiddleware,
        max_body_bytes=settings.http_max_body_bytes,
        raw_body_prefixes=raw_body_prefixes,
    )
    app.add_middleware(ObservabilityMiddleware, service=settings.service_name)
    return app


async def readiness_answer(app: FastAPI, *, detailed: bool) -> JSONResponse:
    """503 when a check fails. `detailed`: each failing check with its error text; otherwise
    only "error", never exception text (it can name hosts, databases, credentials' users)."""
    fn: Readiness | None = app.state.readiness
    checks = await fn() if fn else {}
    ok = all(v == "ok" for v in checks.values())
    if not ok:
        log.warning("not_ready", **{k: v for k, v in checks.items() if v != "ok"})
    shown = checks if detailed else {k: "ok" if v == "ok" else "error" for k, v in checks.items()}
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": shown},
        status_code=200 if ok else 503,
    )


def metrics_answer() -> PlainTextResponse:
    return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _is_operator(request: Request) -> bool:
    if not request.headers.get("authorization"):
        return False
    try:
        return (await authenticate(request)).is_admin
    except PaystreamError:
        return False  # a bad token on a probe is not an error: it sees what anyone sees


def ops_app(app: FastAPI) -> FastAPI:
    """What the ops port serves for `app`: /healthz, the detailed /readyz, /metrics and `app`'s
    OpenAPI documents (/openapi.json, /docs, /redoc, served by FastAPI from `app.openapi`). No
    authentication: the port is meant to be reachable only from inside (Prometheus, the
    cluster's probes, operators)."""
    ops = FastAPI(title=app.title)
    ops.openapi = app.openapi  # type: ignore[method-assign]

    @ops.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @ops.get("/readyz")
    async def readyz() -> JSONResponse:
        return await readiness_answer(app, detailed=True)

    @ops.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return metrics_answer()

    return ops


class PortSplit:
    """One ASGI app for a server listening on two ports: requests that arrived on `ops_port`
    go to `ops`, everything else (and the lifespan) to `public`."""

    def __init__(self, public: ASGIApp, ops: ASGIApp, ops_port: int) -> None:
        self.public, self.ops, self.ops_port = public, ops, ops_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] != "lifespan" and server is not None and server[1] == self.ops_port:
            await self.ops(scope, receive, send)
        else:
            await self.public(scope, receive, send)


def token_policy(settings: BaseServiceSettings) -> TokenPolicy:
    policy = TokenPolicy(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        role_claim=settings.jwt_role_claim,
        admin_value=settings.jwt_admin_value,
    )
    return DEFAULT_POLICY if policy == DEFAULT_POLICY else policy


# The cyclic collector's young-generation threshold in a serving process (CPython's is 700).
# A collection runs each time that many more container objects are alive than at the last one;
# the objects of what is in flight (64 webhooks, a consumer batch of 2,000 events) pass 700 many
# times a second, so each collection found them alive, moved them to an older generation and
# scanned them again there. On webhook-ingest under `make bench` that was 8,200 young, 750
# middle and 68 full collections in 20 s: 1.4 s of collector time, ~23 us per webhook. What a
# request or a batch allocates is nearly all freed by reference counting as it ends and never
# counts towards the threshold, so at 50,000 the collector does not run at all in that bench,
# and only garbage in cycles (a few MB at most) waits longer to be freed.
GC_YOUNG_THRESHOLD = 50_000


def settle_collector() -> None:
    """Once a process has imported and built what it lives with, before it serves or consumes.

    What exists by then lives as long as the process (~120k objects: FastAPI, pydantic,
    OpenTelemetry). Frozen, it is no longer rescanned by every full collection (measured on
    webhook-ingest before the threshold below: a tenth of the CPU and ~65 ms pauses, most of its
    p99). Then the young generation's threshold is raised to GC_YOUNG_THRESHOLD.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def serve(app: FastAPI, settings: BaseServiceSettings) -> None:
    settings.refuse_development_secrets()
    settle_collector()
    options: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 10,
    }
    if settings.ops_port is None:
        uvicorn.run(app, host=settings.http_host, port=settings.http_port, **options)
        return
    # One server (one lifespan, one event loop) on two listening sockets; PortSplit routes by
    # the port a request arrived on.
    split = PortSplit(app, ops_app(app), settings.ops_port)
    # uvicorn's own binding (IPv6, SO_REUSEADDR, a clear exit when the port is taken), per port.
    sockets = [
        uvicorn.Config(split, host=settings.http_host, port=port, **options).bind_socket()
        for port in (settings.http_port, settings.ops_port)
    ]
    uvicorn.Server(uvicorn.Config(split, **options)).run(sockets=sockets)
