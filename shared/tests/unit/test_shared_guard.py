"""The input guard every app gets from the factory (issue 10): control characters are a 4xx (400
in the request line, 422 in the body), authentication comes before anything about the body, the
body cap holds before the body is read, and a malformed or non-UTF-8 body is the documented 422."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from paystream.shared.auth import AdminPrincipal, CurrentPrincipal, make_token
from paystream.shared.http import create_app
from paystream.shared.settings import BaseServiceSettings

SECRET = "guard-test-secret-that-is-long-enough-0123456789"


class NoteIn(BaseModel):
    reason: str = Field(max_length=500)


def _client(*, raw: tuple[str, ...] = ()) -> httpx.AsyncClient:
    router = APIRouter()

    @router.post("/v1/notes")
    async def note(body: NoteIn, who: CurrentPrincipal) -> dict[str, str]:
        return {"reason": body.reason, "user": who.user_id}

    @router.post("/v1/admin/notes")
    async def admin_note(body: NoteIn, who: AdminPrincipal) -> dict[str, str]:
        return {"reason": body.reason}

    @router.get("/v1/notes")
    async def notes(who: CurrentPrincipal, user_id: str | None = None) -> dict[str, str | None]:
        return {"user_id": user_id}

    @router.post("/hooks/raw")
    async def hook(body: NoteIn) -> dict[str, str]:
        return {"reason": body.reason}

    settings = BaseServiceSettings(
        service_name="t", jwt_secret=SECRET, http_max_body_bytes=2048, sandbox=True
    )
    app = create_app(title="t", settings=settings, lifespan=None, raw_body_prefixes=raw)
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with _client() as client:
        yield client


JSON = {"Content-Type": "application/json"}


def _auth(user: str = "u1", role: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user, SECRET, role=role)}", **JSON}


def _code(r: httpx.Response) -> str:
    code: str = r.json()["error"]["code"]
    return code


async def test_a_clean_request_passes(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1/notes", json={"reason": "fine, ünïcode 日本語 ok"}, headers=_auth())
    assert (r.status_code, r.json()) == (200, {"reason": "fine, ünïcode 日本語 ok", "user": "u1"})


@pytest.mark.parametrize(
    "reason", ["a\u0000b", "bell\u0007", "esc\u001b[31m", "bs\b", "del\u007f", "c1\u0085"]
)
async def test_a_control_character_in_a_json_string_is_422(
    http: httpx.AsyncClient, reason: str
) -> None:
    r = await http.post("/v1/notes", json={"reason": reason}, headers=_auth())
    assert r.status_code == 422, r.text
    assert _code(r) == "validation_error"
    assert r.json()["error"]["details"][0]["type"] == "control_character"


async def test_tabs_and_line_breaks_in_a_json_string_are_text(http: httpx.AsyncClient) -> None:
    # A postal address or a note has several lines; they are no threat to anything downstream.
    reason = "Example Street 1\r\n10115 Berlin\tDE"
    r = await http.post("/v1/notes", json={"reason": reason}, headers=_auth())
    assert (r.status_code, r.json()["reason"]) == (200, reason)


async def test_an_escaped_backslash_before_u0000_is_text_not_a_control(
    http: httpx.AsyncClient,
) -> None:
    body = b'{"reason": "C:\\\\u0000dir"}'  # the text C:\u0000dir, no NUL in it
    r = await http.post("/v1/notes", content=body, headers=_auth())
    assert r.status_code == 200, r.text
    assert r.json()["reason"] == "C:\\u0000dir"


@pytest.mark.parametrize("query", ["user_id=a%00b", "user_id=%0a", "user_id=%C2%85"])
async def test_a_control_character_in_the_query_is_400(http: httpx.AsyncClient, query: str) -> None:
    r = await http.get(f"/v1/notes?{query}", headers=_auth())
    assert (r.status_code, _code(r)) == (400, "invalid_input")


async def test_a_control_character_in_the_path_is_400(http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/notes%00x", headers=_auth())
    assert (r.status_code, _code(r)) == (400, "invalid_input")


async def test_a_control_character_in_a_header_is_400(http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/notes", headers={**_auth(), "X-Trace": "a\x01b"})
    assert (r.status_code, _code(r)) == (400, "invalid_input")


async def test_authentication_comes_before_the_body(http: httpx.AsyncClient) -> None:
    for body in (b"{not json", b"\xff\xfe", b'{"reason": "a\\u0000"}', b"x" * 5000):
        anonymous = await http.post("/v1/notes", content=body, headers=JSON)
        assert (anonymous.status_code, _code(anonymous)) == (401, "unauthorized"), body
        user = await http.post("/v1/admin/notes", content=body, headers=_auth())
        assert (user.status_code, _code(user)) == (403, "forbidden"), body


async def test_malformed_json_is_the_documented_422(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1/notes", content=b"{not json", headers=_auth())
    assert r.status_code == 422
    assert _code(r) == "validation_error"
    assert r.json()["error"]["details"][0]["type"] == "json_invalid"


async def test_a_body_that_is_not_utf8_is_the_documented_422(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/v1/notes",
        content=b'{"reason": "\xff\xfe"}',
        headers={**_auth(), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert _code(r) == "validation_error"
    assert r.json()["error"]["details"][0]["type"] == "json_invalid"


async def test_a_declared_body_over_the_cap_is_413_before_it_is_read(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post("/v1/notes", content=b"x" * 2049, headers=_auth())
    assert (r.status_code, _code(r)) == (413, "payload_too_large")


async def test_a_streamed_body_over_the_cap_is_413(http: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 512

    r = await http.post("/v1/notes", content=chunks(), headers=_auth())
    assert (r.status_code, _code(r)) == (413, "payload_too_large")


async def test_a_body_at_the_cap_is_read() -> None:
    async with _client() as http:
        reason = "y" * 400
        body = b'{"reason": "' + reason.encode() + b'"}'
        body += b" " * (2048 - len(body))
        r = await http.post("/v1/notes", content=body, headers=_auth())
    assert r.status_code == 200, r.text


async def test_raw_body_routes_get_only_the_request_line_checks() -> None:
    async with _client(raw=("/hooks/",)) as http:
        # Their bodies are someone else's bytes (a provider's), checked by their own route.
        body = b'{"reason": "a\\nb"}' + b" " * 3000
        ok = await http.post("/hooks/raw", content=body, headers=JSON)
        assert ok.status_code == 200, ok.text
        bad = await http.post("/hooks/raw?x=%00", json={"reason": "a"})
        assert (bad.status_code, _code(bad)) == (400, "invalid_input")
