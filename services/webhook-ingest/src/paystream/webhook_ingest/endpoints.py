"""HTTP endpoints of webhook-ingest: `POST /webhooks/stripe`.

Providers send webhooks at the rate of their own traffic and retry whatever is slow, so the route
is answered by `StripeWebhookEndpoint`, a bare ASGI app that `FastPath` puts in front of the
FastAPI stack: FastAPI's routing, dependency solving and generic tracing middleware cost more per
webhook than verifying and publishing it. The endpoint does the little of that work the route
needs itself: one server span (continuing an incoming `traceparent`), the shared HTTP metrics,
and the shared error body. The FastAPI route below documents the route in /openapi.json (other
methods on the path still go to FastAPI); if it is ever reached, it hands the request to the
same endpoint.
"""

from __future__ import annotations

import time
from typing import Any, Final

import orjson
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paystream.shared.errors import BadRequest, PayloadTooLarge, PaystreamError
from paystream.shared.http import error_body
from paystream.shared.observability import HTTP_REQUESTS, HTTP_SECONDS
from paystream.webhook_ingest.schemas import ErrorBody, WebhookAccepted
from paystream.webhook_ingest.service import IngestResult, StripeWebhookService, count

log = structlog.get_logger(__name__)

STRIPE_PATH: Final = "/webhooks/stripe"
_METHOD: Final = "POST"
_SPAN_NAME: Final = f"{_METHOD} {STRIPE_PATH}"

router = APIRouter(tags=["webhooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "`signature_missing`, `signature_invalid`, "
        "`timestamp_outside_tolerance`, `malformed_payload` or `bad_request` (a Content-Length "
        "that is not a number): nothing was published",
    },
    413: {"model": ErrorBody, "description": "`payload_too_large`: nothing was published"},
    500: {"model": ErrorBody, "description": "`internal_error`: nothing was acknowledged"},
    503: {
        "model": ErrorBody,
        "description": "`kafka_unavailable`: Kafka did not acknowledge; Stripe retries",
    },
}


@router.post(
    STRIPE_PATH,
    summary="Receive a Stripe webhook",
    description="Verifies `Stripe-Signature` over the raw body, publishes the verified event "
    "to `webhooks.raw` and its normalized payment event (if any) to `payments.events`, and "
    "answers 200 only after Kafka acknowledged both (acks=all).",
    response_model=WebhookAccepted,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "parameters": [
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]",
            }
        ],
    },
)
async def stripe_webhook(request: Request) -> Response:
    # Reached only where FastPath is not in front (it answers this route before FastAPI sees
    # it): the request, body unread, goes to the one implementation.
    return _Delegate(request.app.state.stripe_webhook_endpoint)


class _Delegate(Response):
    """A response that lets an ASGI app answer the request itself."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__()
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class ClientGone(Exception):
    """The client disconnected before its body was read: there is nobody left to answer."""


_JSON_HEADER: Final = (b"content-type", b"application/json")
_INTERNAL_ERROR: Final = orjson.dumps(error_body("internal_error", "internal error"))


class StripeWebhookEndpoint:
    """`POST /webhooks/stripe` as a bare ASGI app: reads the body within the size limit, hands it
    to StripeWebhookService, and answers 200 with what was published or the typed error's body.

    `service` is set by the app's lifespan (it needs the started Kafka producer).
    """

    def __init__(self, *, service_name: str, max_body_bytes: int) -> None:
        self.service: StripeWebhookService | None = None
        self.max_body_bytes = max_body_bytes
        self._tracer = trace.get_tracer("paystream.webhook_ingest")
        # The header names the configured propagators read (traceparent, tracestate, baggage).
        self._trace_fields = frozenset(
            f.encode("latin-1") for f in propagate.get_global_textmap().fields
        )
        self._seconds = HTTP_SECONDS.labels(service_name, _METHOD, STRIPE_PATH)
        self._service_name = service_name
        self._requests: dict[int, Counter] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # what is counted if nothing is answered, as ObservabilityMiddleware does
        signature = content_type = content_length = None
        carrier: dict[str, str] | None = None
        # ASGI header names are lowercase; like Starlette's Headers.get, the first one wins.
        for name, value in scope["headers"]:
            if name == b"stripe-signature":
                if signature is None:
                    signature = value.decode("latin-1")
            elif name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"content-length":
                if content_length is None:
                    content_length = value.decode("latin-1")
            elif name in self._trace_fields:
                carrier = carrier or {}
                carrier.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        parent = propagate.extract(carrier) if carrier else None
        span = self._tracer.start_span(
            _SPAN_NAME,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.method": _METHOD, "http.route": STRIPE_PATH},
        )
        # The span is current while the service runs: its context goes into the Kafka headers.
        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            try:
                body = await self._read_body(receive, content_length)
                result = await self._service().ingest(
                    body, signature, content_type or "application/json"
                )
                status, payload = 200, _accepted(result)
            except PaystreamError as exc:
                status, payload = exc.status_code, orjson.dumps(exc.body())
            except ClientGone:
                return
            except Exception as exc:
                log.exception("unhandled_error", error=repr(exc))
                span.record_exception(exc)
                status, payload = 500, _INTERNAL_ERROR
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-length", b"%d" % len(payload)), _JSON_HEADER],
                }
            )
            await send({"type": "http.response.body", "body": payload})
        finally:
            span.set_attribute("http.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
            context.detach(token)
            self._count(status)
            self._seconds.observe(time.perf_counter() - started)

    def _service(self) -> StripeWebhookService:
        if self.service is None:
            raise RuntimeError("the webhook service is not started (lifespan not run)")
        return self.service

    async def _read_body(self, receive: Receive, declared: str | None) -> bytes:
        """The raw body, refused with 413 past the limit whether or not Content-Length says so
        (a chunked body has none, and a declared length is only a claim)."""
        limit = self.max_body_bytes
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise BadRequest("Content-Length is not a number") from None
            if size > limit:
                count("too_large")
                raise PayloadTooLarge(f"body is larger than {limit} bytes")
        chunks: list[bytes] = []
        received = 0
        while True:
            message: Message = await receive()
            if message["type"] != "http.request":
                raise ClientGone
            chunk: bytes = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                count("too_large")
                raise PayloadTooLarge(f"body is larger than {limit} bytes")
            if not message.get("more_body", False):
                if not chunks:
                    return chunk  # the usual case: the whole body in one message
                chunks.append(chunk)
                return b"".join(chunks)
            chunks.append(chunk)

    def _count(self, status: int) -> None:
        counter = self._requests.get(status)
        if counter is None:
            counter = self._requests[status] = HTTP_REQUESTS.labels(
                self._service_name, _METHOD, STRIPE_PATH, str(status)
            )
        counter.inc()


def _accepted(result: IngestResult) -> bytes:
    content: dict[str, Any] = {
        "received": True,
        "event_id": result.event_id,
        "type": result.event_type,
        "published": list(result.published),
    }
    if result.ignored:
        content["ignored"] = True
    return orjson.dumps(content)


class FastPath:
    """Answers `POST /webhooks/stripe` with `endpoint` and passes every other request (and the
    lifespan) to `app`, the FastAPI stack with its middleware."""

    def __init__(self, app: ASGIApp, endpoint: ASGIApp) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == _METHOD
            and get_route_path(scope) == STRIPE_PATH
        ):
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)
