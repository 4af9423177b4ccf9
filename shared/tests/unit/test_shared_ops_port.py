"""Operational endpoints apart from the public routes (PAYSTREAM_OPS_PORT), and a /readyz that
shows exception text to nobody but an operator.

In process: `PortSplit` routes by the port a request arrived on (the ASGI scope's `server`),
which httpx's ASGITransport sets from the URL. webhook-ingest's integration tests run the real
process on two real sockets."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from fastapi import FastAPI

from paystream.shared.http import PortSplit, create_app, ops_app
from paystream.shared.settings import DEV_JWT_SECRET, BaseServiceSettings

FAILING = {"postgres": "ok", "kafka": "error: KafkaConnectionError('10.0.7.3:9092 refused')"}


def _service(ops_port: int | None) -> FastAPI:
    async def readiness() -> dict[str, str]:
        return dict(FAILING)

    settings = BaseServiceSettings(service_name="t", http_port=8000, ops_port=ops_port)
    app = create_app(title="t", settings=settings, lifespan=None, readiness=readiness)

    @app.get("/v1/things")
    async def things() -> dict[str, list[str]]:
        return {"items": []}

    return app


def _token(*, admin: bool) -> dict[str, str]:
    claims = {
        "sub": "someone",
        "exp": int(time.time()) + 600,
        **({"role": "admin"} if admin else {}),
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, DEV_JWT_SECRET, algorithm='HS256')}"}


@pytest.fixture
def split() -> httpx.AsyncClient:
    app = _service(ops_port=9100)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=PortSplit(app, ops_app(app), 9100)))


async def test_with_an_ops_port_the_public_port_serves_no_metrics_docs_or_schema(
    split: httpx.AsyncClient,
) -> None:
    async with split as http:
        for path in ("/metrics", "/docs", "/redoc", "/openapi.json"):
            r = await http.get(f"http://svc:8000{path}")
            assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), path
        assert (await http.get("http://svc:8000/v1/things")).json() == {"items": []}
        assert (await http.get("http://svc:8000/healthz")).json() == {"status": "ok"}


async def test_the_ops_port_serves_them_and_the_detailed_readiness(
    split: httpx.AsyncClient,
) -> None:
    async with split as http:
        metrics = await http.get("http://svc:9100/metrics")
        assert metrics.status_code == 200
        assert "paystream_http_requests_total" in metrics.text
        spec = (await http.get("http://svc:9100/openapi.json")).json()
        assert "/v1/things" in spec["paths"]
        docs = await http.get("http://svc:9100/docs")
        assert docs.status_code == 200
        assert "/openapi.json" in docs.text
        ready = await http.get("http://svc:9100/readyz")
        assert (ready.status_code, ready.json()) == (
            503,
            {"status": "unavailable", "checks": FAILING},
        )
        assert (await http.get("http://svc:9100/healthz")).json() == {"status": "ok"}
        # The ops port is not the API: nothing but the operational endpoints answers there.
        assert (await http.get("http://svc:9100/v1/things")).status_code == 404


@pytest.mark.parametrize("ops_port", [None, 9100])
async def test_readiness_names_the_failing_check_but_its_error_only_to_an_operator(
    ops_port: int | None,
) -> None:
    app = _service(ops_port)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc:8000") as http:
        for headers in ({}, _token(admin=False), {"Authorization": "Bearer not.a.token"}):
            r = await http.get("/readyz", headers=headers)
            assert (r.status_code, r.json()) == (
                503,
                {"status": "unavailable", "checks": {"postgres": "ok", "kafka": "error"}},
            ), headers
            assert "10.0.7.3" not in r.text
        r = await http.get("/readyz", headers=_token(admin=True))
        assert (r.status_code, r.json()["checks"]) == (503, FAILING)


async def test_without_an_ops_port_everything_stays_on_the_one_port() -> None:
    app = _service(ops_port=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc:8000") as http:
        for path in ("/metrics", "/docs", "/openapi.json"):
            assert (await http.get(path)).status_code == 200, path


def test_an_ops_port_out_of_range_is_refused() -> None:
    for bad in (0, 70_000):
        with pytest.raises(ValueError, match="ops_port"):
            BaseServiceSettings(ops_port=bad)
