"""The input guard every service's app runs before its routes: control characters, the body-size
cap, and authentication before anything about the body.

A pure-ASGI middleware and an app-wide dependency, so no route can forget them. A request is
refused, in this order, with:
1. 400 `invalid_input` when its path, query string or a header value holds a control character
   (C0, DEL or C1; a tab only in a header): PostgreSQL refuses NUL in text (a 500 before) and
   no identifier, filter or token of ours has any. Answered by the middleware at once.
2. 401 / 403 when its route needs a bearer token (or an admin's) and the request has none: the
   caller learns nothing about the body's rules before it is authenticated.
3. 413 `payload_too_large` when its declared Content-Length, or the body read so far, is over the
   cap: the middleware stops reading and the app never sees any of it.
4. 422 `validation_error` (`control_character`, as the body models refused it before) when the
   body holds a control character, raw or JSON-escaped
   (`\\u0000`, `\\b`, ...; in a JSON string a tab and line breaks are text: addresses), and
   422 `validation_error` (`json_invalid`) when it is not UTF-8 or not JSON.
The middleware keeps a refused body from the app (which sees an empty one) and leaves the refusal
in the scope; `checked_request`, solved before every route's own dependencies, authenticates first
and then raises it. Routes whose bodies belong to someone else (provider notifications, verified
byte for byte by their own route under its own cap) are named by prefix and get only step 1.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from fastapi.dependencies.models import Dependant
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paystream.shared import auth
from paystream.shared.errors import BadRequest, PayloadTooLarge, PaystreamError, Unprocessable


class InvalidInput(BadRequest):
    code = "invalid_input"


# C0 controls, DEL and C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F), as bytes.
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]|\xc2[\x80-\x9f]")
_HEADER_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is legal folding whitespace
_CONTROL_STR = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# In a JSON body: raw controls other than the whitespace between tokens, and escapes that decode
# to a control character other than a tab or a line break (a postal address has several lines).
# An escape is one when an odd number of backslashes precedes it (`\\\\u0000` is a backslash
# followed by the text u0000).
_BODY_CONTROL = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]"
    rb"|(?<!\\)(?:\\\\)*\\(?:[bf]|u00(?:0[0-8bBcCe-fE-F]|1[0-9a-fA-F]|[89][0-9a-fA-F])|u007[fF])"
)
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})

_DEFERRED = "paystream.body_refusal"


class BodyRefused(Unprocessable):
    """A body refused before the app saw it, in the shape of any other invalid body."""

    code = "validation_error"
    msg = ""
    type = ""

    def body(self) -> dict[str, Any]:
        detail = {"loc": ["body"], "msg": self.msg, "type": self.type}
        return {"error": {"code": self.code, "message": "request is invalid", "details": [detail]}}


class BodyNotUtf8(BodyRefused):
    msg = "body is not UTF-8 JSON"
    type = "json_invalid"


class BodyControlCharacter(BodyRefused):
    msg = "control characters are not accepted in the body"
    type = "control_character"


class InputGuardMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, raw_body_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.raw_body_prefixes = raw_body_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_request_line(scope)
        except PaystreamError as exc:
            await _answer(send, exc.status_code, exc.body())
            return
        if scope["path"].startswith(self.raw_body_prefixes) or (
            scope["method"] in _BODYLESS and not _declares_body(scope)
        ):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read_body(scope, receive)
        except PaystreamError as exc:
            scope[_DEFERRED] = exc
            body = b""

        await self.app(scope, replaying(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        # A client that left: the app sees what arrived and its disconnect.
        body, _ = await read_limited_body(
            receive, _header(scope, b"content-length"), self.max_body_bytes
        )
        if _BODY_CONTROL.search(body):
            raise BodyControlCharacter("control characters are not accepted in the body")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyNotUtf8("body is not UTF-8") from None
        return body


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over `body` (already read) in one message, then defers to
    `receive` (http.disconnect, for whoever waits for it)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def refuse_declared_length(declared: str | bytes | None, limit: int) -> None:
    """A declared Content-Length (only a claim: the reader still counts) that is not a number
    (400) or above `limit` (413), refused before anything is read."""
    if declared is None:
        return
    try:
        too_large = int(declared) > limit
    except ValueError:
        raise BadRequest("Content-Length is not a number") from None
    if too_large:
        raise PayloadTooLarge(f"body is larger than {limit} bytes")


async def read_limited_body(
    receive: Receive, declared_length: str | bytes | None, limit: int
) -> tuple[bytes, bool]:
    """A request's body from its ASGI `receive`, refused (413) as soon as it is larger than
    `limit` bytes: a declared Content-Length is checked before reading (it is only a claim), a
    streamed or chunked body while reading. Returns the body and whether it is whole (False: the
    client left before its end, and the body is what had arrived)."""
    refuse_declared_length(declared_length, limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


async def checked_request(request: Request) -> None:
    """The app-wide dependency, solved before the route's own: the route's authentication, then
    the refusal of the body the middleware kept from the app (if any)."""
    await authenticate_first(request)
    refusal: PaystreamError | None = request.scope.get(_DEFERRED)
    if refusal is not None:
        raise refusal


def body_refused(scope: Scope) -> bool:
    """Whether the middleware kept this request's body from the app (a refusal pending)."""
    return _DEFERRED in scope


async def authenticate_first(request: Request) -> None:
    """Run the matched route's auth dependency now (its result is cached per token, so the
    route's own run of it costs a dict look-up): 401 / 403 before anything about the body."""
    need = _auth_of(request.scope.get("route"))
    if need is None:
        return
    who = await auth.authenticate(request)
    if need == "admin":
        await auth.admin(who)


_AUTH_OF: dict[int, str | None] = {}


def _auth_of(route: object) -> str | None:
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return None
    key = id(dependant)
    if key not in _AUTH_OF:
        _AUTH_OF[key] = _auth_needed(dependant)
    return _AUTH_OF[key]


def _check_request_line(scope: Scope) -> None:
    if _CONTROL_STR.search(scope["path"]):
        raise InvalidInput("control characters are not accepted in the path")
    query: bytes = scope.get("query_string", b"")
    if query and _CONTROL.search(unquote_to_bytes(query)):
        raise InvalidInput("control characters are not accepted in the query")
    for name, value in scope["headers"]:
        if _HEADER_CONTROL.search(value):
            raise InvalidInput(f"control characters are not accepted in header {name.decode()}")


def _declares_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    return (length is not None and length != b"0") or _header(
        scope, b"transfer-encoding"
    ) is not None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _auth_needed(dependant: Dependant) -> str | None:
    found: str | None = None
    for dep in dependant.dependencies:
        if dep.call is auth.admin:
            return "admin"
        if dep.call is auth.principal:
            found = "user"
        below = _auth_needed(dep)
        if below == "admin":
            return "admin"
        found = found or below
    return found


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
