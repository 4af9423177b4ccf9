"""`POST /v1/spend` answers the same on its lean path (paystream.shared.lean) as on FastAPI's
ordinary path: the same statuses, bodies and headers for accepted, replayed and refused spends,
and the common request does take the lean path."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from fastapi.routing import APIRoute
from ledgerkit import JWT, LedgerApp

from paystream.ledger.spending import endpoints as spending_endpoints

pytestmark = pytest.mark.integration

# name, method, headers, body, and whether the lean path answers it (None: FastAPI's route
# refuses the method before either path runs).
Case = tuple[str, str, dict[str, str], bytes, bool | None]


def _cases(ledger: LedgerApp, user: str) -> list[Case]:
    def auth(key: str | None = "k1", **kw: Any) -> dict[str, str]:
        return {**ledger.auth(user, key=key, **kw), "Content-Type": "application/json"}

    def body(**fields: Any) -> bytes:
        return json.dumps(fields).encode()

    ok = body(credits=30, reason="video")
    expired = jwt.encode({"sub": user, "exp": int(time.time()) - 10}, JWT, algorithm="HS256")
    big = body(credits=1, reason="x" * 70_000)
    return [
        ("spent", "POST", auth(), ok, True),
        ("replayed", "POST", auth(), ok, True),
        ("key reused", "POST", auth(), body(credits=31, reason="video"), True),
        ("insufficient", "POST", auth("k2"), body(credits=1000, reason="x"), True),
        ("no key", "POST", auth(None), ok, True),
        ("empty key", "POST", auth(""), ok, True),
        ("long key", "POST", auth("k" * 256), ok, True),
        ("unknown unit", "POST", auth("k3"), body(credits=1, reason="x", unit="gold"), True),
        (
            "duplicate field",
            "POST",
            auth("k4"),
            b'{"credits": 1, "credits": 2, "reason": "d"}',
            True,
        ),
        (
            "charset",
            "POST",
            {**auth("k5"), "Content-Type": "application/json; charset=utf-8"},
            ok,
            True,
        ),
        ("admin", "POST", {**auth("k6", admin=True)}, ok, True),
        (
            "no token",
            "POST",
            {"Idempotency-Key": "k7", "Content-Type": "application/json"},
            ok,
            False,
        ),
        ("bad token", "POST", {**auth("k7"), "Authorization": "Bearer nope"}, ok, False),
        ("expired", "POST", {**auth("k7"), "Authorization": f"Bearer {expired}"}, ok, False),
        ("basic", "POST", {**auth("k7"), "Authorization": "Basic dTpw"}, ok, False),
        ("string credits", "POST", auth("k8"), body(credits="5", reason="x"), False),
        ("float credits", "POST", auth("k8"), body(credits=1.5, reason="x"), False),
        ("bool credits", "POST", auth("k8"), body(credits=True, reason="x"), False),
        ("zero credits", "POST", auth("k8"), body(credits=0, reason="x"), False),
        ("NaN credits", "POST", auth("k8"), b'{"credits": NaN, "reason": "x"}', False),
        ("blank reason", "POST", auth("k8"), body(credits=1, reason="  "), False),
        ("no reason", "POST", auth("k8"), body(credits=1), False),
        ("extra field", "POST", auth("k8"), body(credits=1, reason="x", tip=1), False),
        ("bad unit", "POST", auth("k8"), body(credits=1, reason="x", unit="Gold!"), False),
        ("a list", "POST", auth("k8"), b"[1, 2]", False),
        ("null", "POST", auth("k8"), b"null", False),
        ("empty body", "POST", auth("k8"), b"", False),
        ("not json", "POST", auth("k8"), b"not json", False),
        ("not json, no token", "POST", {"Content-Type": "application/json"}, b"not json", False),
        ("nul in reason", "POST", auth("k8"), body(credits=1, reason="a\u0000b"), False),
        ("too large", "POST", auth("k8"), big, False),
        ("too large, no token", "POST", {"Content-Type": "application/json"}, big, False),
        ("text/plain", "POST", {**auth("k9"), "Content-Type": "text/plain"}, ok, False),
        ("no content type", "POST", ledger.auth(user, key="k9"), ok, False),
        ("+json", "POST", {**auth("k10"), "Content-Type": "application/x+json"}, ok, False),
        ("GET", "GET", auth("k11"), b"", None),
    ]


Answer = tuple[str, int, str, str | None]


async def _run(ledger: LedgerApp, user: str, ordinary: list[int]) -> tuple[list[Answer], list[int]]:
    """Each case's answer, and how many times it took the ordinary path."""
    await ledger.grant(user, 100)
    out, took = [], []
    for name, method, headers, content, _ in _cases(ledger, user):
        before = len(ordinary)
        r = await ledger.http.request(method, "/v1/spend", headers=headers, content=content)
        text = r.text.replace(user, "<user>")
        # What differs between two users' transactions: ids and times.
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
        text = re.sub(r'"created_at":"[^"]*"', '"created_at":"<t>"', text)
        out.append((name, r.status_code, text, r.headers.get("idempotent-replayed")))
        took.append(len(ordinary) - before)
    return out, took


async def test_the_lean_path_answers_as_the_ordinary_path(
    ledger: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ledger.app is not None
    (route,) = spending_endpoints.router.routes
    assert isinstance(route, APIRoute)
    ordinary: list[int] = []
    handler = route.get_route_handler

    def counted() -> Callable[..., Any]:
        ordinary.append(1)
        return handler()

    # FastAPI builds the ordinary handler of an included route for every request it runs.
    monkeypatch.setattr(route, "get_route_handler", counted)
    lean_user, ordinary_user = f"lean-{uuid.uuid4().hex[:8]}", f"full-{uuid.uuid4().hex[:8]}"
    lean, lean_took = await _run(ledger, lean_user, ordinary)

    # Any dependency override sends every request down the ordinary path.
    def unused() -> None:
        return None

    ledger.app.dependency_overrides[unused] = unused
    try:
        full, full_took = await _run(ledger, ordinary_user, ordinary)
    finally:
        ledger.app.dependency_overrides.clear()

    assert lean == full
    cases = _cases(ledger, lean_user)
    assert lean_took == [{True: 0, False: 1, None: 0}[lean] for *_, lean in cases]
    assert full_took == [{True: 1, False: 1, None: 0}[lean] for *_, lean in cases]
    # Spot checks that the cases are what their names say.
    statuses = {name: status for name, status, _, _ in lean}
    assert statuses["spent"] == statuses["replayed"] == 201
    assert lean[1][3] == "true"
    assert statuses["insufficient"] == 409
    assert statuses["no token"] == statuses["not json, no token"] == 401
    assert statuses["too large, no token"] == 401
    assert statuses["too large"] == 413
    assert statuses["not json"] == statuses["extra field"] == 422
    assert statuses["GET"] == 405
