"""A lean path for a hot JSON endpoint: the common request (authenticated, a JSON body its model
accepts) runs without FastAPI's per-request machinery; every other request takes the route's
ordinary FastAPI path, so each refusal (401/403, 413, 422, 405) keeps its one implementation.

On the ledger's `POST /v1/spend`, FastAPI's request handling (the route handler rebuilt per
request for an included router's route, dependency solving, exit stacks, body field handling)
cost more CPU than the spend's batch and SQL. webhook-ingest's `WebhookRoute` avoids it by
taking the Request itself; a route with a body model, a bearer token and header parameters
cannot, since its OpenAPI and its refusals come from that signature. `LeanRoute` keeps the
signature (and so the OpenAPI document, the middleware and the error handlers) and adds a fast
path beside it, through FastAPI's documented hook for changing what a route runs (a custom
route class: https://fastapi.tiangolo.com/how-to/custom-request-and-route/).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from paystream.shared import auth, guard
from paystream.shared.errors import PaystreamError

# The lean endpoint: from the request, its caller and its decoded JSON body, the coroutine that
# answers it, or None when the request is not the common case (the ordinary path answers then).
# It must return None rather than raise for anything the route's signature would refuse.
LeanEndpoint = Callable[[Request, auth.Principal, Any], Awaitable[Response] | None]


def lean_route(endpoint: LeanEndpoint, *, admin: bool = False) -> type[APIRoute]:
    """A route class whose requests try `endpoint` first (for `APIRouter(route_class=...)`)."""

    class LeanRoute(APIRoute):
        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            await _handle(self, endpoint, admin, scope, receive, send)

    return LeanRoute


async def _handle(
    route: APIRoute,
    endpoint: LeanEndpoint,
    admin: bool,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    full = APIRoute.handle
    app = scope.get("app")
    if (
        scope["method"] not in (route.methods or ())
        or guard.body_refused(scope)  # 413 / 422 of the input guard, after authentication
        or getattr(app, "dependency_overrides", None)  # tests that replace a dependency
        or not _is_json(Headers(scope=scope).get("content-type"))
    ):
        await full(route, scope, receive, send)
        return
    # The input guard has read the body already (it hands it over in one message).
    body = await _read(receive)
    receive = guard.replaying(body, receive)
    request = Request(scope, receive, send)
    call = None
    try:
        principal = await auth.authenticate(request)
        if not admin or principal.is_admin:
            # As FastAPI decodes a JSON body (`Request.json`), so both accept the same bodies.
            call = endpoint(request, principal, json.loads(body)) if body else None
    except (PaystreamError, ValueError, RecursionError):
        call = None  # 401/403, or a body that is not JSON: refused by the ordinary path
    if call is None:
        await full(route, scope, receive, send)
        return

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        response = await call
        await response(scope, receive, send)

    # What a raised PaystreamError becomes is the app's handlers' business, as on any route.
    await wrap_app_handling_exceptions(answer, request)(scope, receive, send)


def _is_json(content_type: str | None) -> bool:
    """`application/json` (parameters aside): a type FastAPI decodes as JSON too."""
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
