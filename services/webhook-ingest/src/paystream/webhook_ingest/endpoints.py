"""HTTP endpoints of webhook-ingest: one ordinary route per registered provider, behind the shared
middleware (server span, metrics) and error handlers, each handing its requests to the pipeline.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from paystream.notifications.provider import NotificationProvider
from paystream.shared.errors import PaystreamError
from paystream.shared.guard import read_limited_body
from paystream.webhook_ingest.pipeline import Pipeline

log = structlog.get_logger(__name__)


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
            WebhookEndpoint(provider.name, pipelines, max_body_bytes),
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
    """A route FastAPI documents and routes like any other, whose requests its endpoint (a
    WebhookEndpoint, an ASGI app) answers itself. FastAPI's machinery around an endpoint
    (dependency solving, exit stacks, body and response models) and Starlette's Request and
    Response objects have nothing to do for a body that is read as bytes and an answer the
    provider's module has already encoded, and cost more per webhook than verifying one. A custom
    route class is FastAPI's documented hook for changing what a route runs
    (https://fastapi.tiangolo.com/how-to/custom-request-and-route/); the route stays in the app's
    routing, OpenAPI, middleware and error handlers (what the endpoint raises is answered by
    them, as on any route)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        assert isinstance(endpoint, WebhookEndpoint)
        self.app = endpoint


class WebhookEndpoint:
    """One provider's webhook route: the body read (413 past `max_body_bytes`), handed to the
    pipeline, and its answer sent."""

    def __init__(self, name: str, pipelines: Mapping[str, Pipeline], max_body_bytes: int) -> None:
        self._name = name
        self._pipelines = pipelines
        self._limit = max_body_bytes
        # What FastAPI reads to document the route (its operation id and its one parameter, the
        # request itself, which adds nothing to the document).
        self.__name__ = f"{name}_notification"
        self.__signature__ = _DECLARED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pipeline = self._pipelines.get(self._name)
        if pipeline is None:
            log.error("webhook_pipeline_not_started", provider=self._name)
            raise PaystreamError("internal error")  # 500 internal_error, the shared body
        # As Starlette's Headers.get reads them: names are lower case, the first of a repeated
        # header wins.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        try:
            pipeline.check_configured()
            # Refused (413) past the limit, even while a chunked body streams in.
            body, whole = await read_limited_body(
                receive, headers.get("content-length"), self._limit
            )
            if not whole:
                raise ClientDisconnect()  # nobody is there to answer
            answer = await pipeline.ingest(body, headers)
        except PaystreamError as exc:
            failed = pipeline.failed(exc)
            if failed is None:
                raise  # the shared error body
            answer = failed
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-length", str(len(answer.body)).encode()),
                    (b"content-type", answer.media_type.encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})


_DECLARED = inspect.Signature(
    [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
)
