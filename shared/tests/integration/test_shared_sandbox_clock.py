"""The sandbox clock on the real database, and its endpoints: every instance agrees on the
time, only an admin moves it, only forward, and never outside sandbox mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from paystream.shared import http
from paystream.shared.auth import make_token
from paystream.shared.clock import (
    SANDBOX_CLOCK_DDL,
    Clock,
    InvalidDuration,
    SandboxClock,
    SystemClock,
    clock_for,
)
from paystream.shared.sandbox import router
from paystream.shared.settings import BaseServiceSettings

pytestmark = pytest.mark.integration

SECRET = "sandbox-clock-test-secret-0123456789abcdef"


@pytest.fixture
async def pool(database_with: Callable[[str, str], Awaitable[asyncpg.Pool]]) -> asyncpg.Pool:
    return await database_with("clock", SANDBOX_CLOCK_DDL)


async def test_instances_share_the_offset_and_it_only_moves_forward(pool: asyncpg.Pool) -> None:
    first, second = SandboxClock(pool), SandboxClock(pool)
    await first.load()
    await second.load()
    before = datetime.now(UTC)
    moved = await first.advance("P6M1D", actor="ops")
    assert moved - before >= timedelta(days=181)
    assert second.offset == timedelta(0)  # not until it refreshes
    await second.load()
    assert second.offset == first.offset
    assert abs(second.now() - first.now()) < timedelta(seconds=1)
    # Concurrent advances add up.
    await second.advance("PT1H", actor="ops")
    await first.load()
    assert first.offset == second.offset
    row = await pool.fetchrow("SELECT offset_us, updated_by FROM sandbox_clock")
    assert row is not None
    assert row["updated_by"] == "ops"
    for bad in ("P0D", "-P1D", "P11Y"):
        with pytest.raises(InvalidDuration):
            await first.advance(bad, actor="ops")


async def test_clock_for_picks_by_mode(pool: asyncpg.Pool) -> None:
    assert isinstance(await clock_for(False, None), SystemClock)
    assert isinstance(await clock_for(True, pool), SandboxClock)
    with pytest.raises(RuntimeError):
        await clock_for(True, None)


def _app(clock: Clock) -> FastAPI:
    app = http.create_app(
        title="clock test",
        settings=BaseServiceSettings(jwt_secret=SECRET, log_level="WARNING"),
        lifespan=None,
    )
    app.state.clock = clock
    app.include_router(router)
    return app


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[Clock], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(clock: Clock) -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(clock)), base_url="http://t")
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


def _auth(user: str, *, admin: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user, SECRET, role='admin' if admin else None)}"}


async def test_an_admin_advances_the_sandbox_clock_over_http(
    pool: asyncpg.Pool, client_for: Callable[[Clock], httpx.AsyncClient]
) -> None:
    clock = SandboxClock(pool)
    await clock.load()
    c = client_for(clock)
    r = await c.get("/v1/sandbox/clock", headers=_auth("u1"))
    assert r.status_code == 200
    assert r.json()["sandbox"] is True
    assert r.json()["offset_seconds"] == 0

    r = await c.post(
        "/v1/sandbox/clock/advance", json={"by": "P1D"}, headers=_auth("ops", admin=True)
    )
    assert r.status_code == 200, r.text
    assert r.json()["offset_seconds"] == pytest.approx(86400, abs=1)
    assert datetime.fromisoformat(r.json()["now"]) - datetime.now(UTC) > timedelta(hours=23)


@pytest.mark.parametrize(
    ("body", "admin", "status", "code"),
    [
        ({"by": "P1D"}, False, 403, "forbidden"),
        ({"by": "P0D"}, True, 422, "invalid_duration"),
        ({"by": "P11Y"}, True, 422, "invalid_duration"),
        ({"by": "tomorrow"}, True, 422, "validation_error"),
        ({"by": 86400}, True, 422, "validation_error"),
        ({}, True, 422, "validation_error"),
    ],
)
async def test_bad_advances_are_refused_clearly(
    pool: asyncpg.Pool,
    client_for: Callable[[Clock], httpx.AsyncClient],
    body: dict[str, object],
    admin: bool,
    status: int,
    code: str,
) -> None:
    clock = SandboxClock(pool)
    await clock.load()
    r = await client_for(clock).post(
        "/v1/sandbox/clock/advance", json=body, headers=_auth("ops", admin=admin)
    )
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert await pool.fetchval("SELECT offset_us FROM sandbox_clock") == 0


async def test_time_travel_is_refused_outside_sandbox_mode(
    client_for: Callable[[Clock], httpx.AsyncClient],
) -> None:
    c = client_for(SystemClock())
    r = await c.post(
        "/v1/sandbox/clock/advance", json={"by": "P1D"}, headers=_auth("ops", admin=True)
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "sandbox_only")
    r = await c.get("/v1/sandbox/clock", headers=_auth("u1"))
    assert r.json()["sandbox"] is False
    assert r.json()["offset_seconds"] == 0
    assert (await c.get("/v1/sandbox/clock")).status_code == 401
