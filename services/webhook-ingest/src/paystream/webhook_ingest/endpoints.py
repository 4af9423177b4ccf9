"""HTTP endpoints of webhook-ingest: one ordinary route per registered provider, behind the shared
middleware (server span, metrics) and error handlers, each handing its requests to the pipeline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import request_response

from paystream.notifications.provider import NotificationProvider
from paystream.shared.errors import PayloadTooLarge, PaystreamError
from paystream.shared.guard import refuse_declared_length
from paystream.webhook_ingest.pipeline import Pipeline

log = structlog.get_logger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


def mount(
    app: FastAPI,
    providers: tuple[NotificationProvider[Any], ...],
    pipelines: Mapping[str, Pipeline],
    *,
    max_body_bytes: int,
) -> None:
    """`POST <provider.path>` for each provider; `pipelines` is filled when the app starts."""
    for provider in providers:
        doc = provider.doc
        app.router.add_api_route(
            provider.path,
            _endpoint(provider.name, pipelines, max_body_bytes),
            methods=["POST"],
            tags=["webhooks"],
            route_class_override=WebhookRoute,
            summary=doc.summary,
            description=doc.description,
            response_model=doc.response_model,
            response_class=(
                PlainTextResponse if doc.media_type.startswith("text/") else JSONResponse
            ),
            responses=doc.responses,
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {doc.request_content_type: {"schema": {"type": "object"}}},
                },
                **({"parameters": list(doc.headers)} if doc.headers else {}),
            },
        )
    # Nearly every request to this service is a webhook: the router tries their routes first
    # (before the docs, health and metrics routes the app was made with).
    routes = app.router.routes
    routes[:] = routes[-len(providers) :] + routes[: -len(providers)]


class WebhookRoute(APIRoute):
    """A route whose endpoint takes the Request itself and answers a Response, run the way any
    Starlette route runs its endpoint (`starlette.routing.request_response`). FastAPI's own
    machinery around an endpoint (dependency solving, exit stacks for dependencies with yield,
    body and response models) has nothing to do for it, and cost more per webhook than
    verifying one. A custom route class is FastAPI's documented hook for changing what a route
    runs (https://fastapi.tiangolo.com/how-to/custom-request-and-route/); the route stays in the
    app's routing, OpenAPI, middleware and error handlers."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.app = request_response(endpoint)


def _endpoint(name: str, pipelines: Mapping[str, Pipeline], max_body_bytes: int) -> Endpoint:
    async def receive(request: Request) -> Response:
        pipeline = pipelines.get(name)
        if pipeline is None:
            log.error("webhook_pipeline_not_started", provider=name)
            raise PaystreamError("internal error")  # 500 internal_error, the shared body
        try:
            pipeline.check_configured()
            body = await read_body(request, max_body_bytes)
            answer = await pipeline.ingest(body, request.headers)
        except PaystreamError as exc:
            failed = pipeline.failed(exc)
            if failed is None:
                raise  # the shared error body
            answer = failed
        return Response(answer.body, status_code=answer.status, media_type=answer.media_type)

    receive.__name__ = f"{name}_notification"
    return receive


async def read_body(request: Request, limit: int) -> bytes:
    """A notification's body, refused (413) as soon as it is larger than `limit` bytes: a declared
    Content-Length is checked before reading (it is only a claim), a streamed or chunked body
    while reading."""
    refuse_declared_length(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
