"""End-to-end fixtures: the four services run as separate processes against the real Kafka,
PostgreSQL and stripe-mock of the test environment; tests talk to them over HTTP only."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from paystream.devtools.client import JWT_SECRET, WEBHOOK_SECRETS, Harness
from paystream.devtools.sandbox import Sandbox
from paystream.devtools.stack import Stack


@pytest.fixture(scope="session")
def stack(infra_settings: object) -> Iterator[Stack]:
    run_dir = Path(os.environ.get("PAYSTREAM_RUN_DIR", ".run/test"))
    port_base = int(os.environ.get("PAYSTREAM_PORT_BASE", "18000"))
    s = Stack(
        port_base=port_base,
        log_dir=run_dir / "logs" / "e2e",
        # The provider fakes (Alipay, WeChat Pay, TronGrid) run as processes beside the services.
        sandbox=Sandbox.create(run_dir, port_base),
        env={
            "PAYSTREAM_JWT_SECRET": JWT_SECRET,
            "PAYSTREAM_STRIPE_WEBHOOK_SECRETS": ",".join(WEBHOOK_SECRETS),
            "PAYSTREAM_LOG_LEVEL": "INFO",
        },
    )
    s.start()
    try:
        s.wait_ready(timeout_s=180)
        yield s
    finally:
        s.stop()


@pytest.fixture
async def harness(stack: Stack) -> AsyncIterator[Harness]:
    async with httpx.AsyncClient(timeout=30.0) as http:
        yield Harness(urls=stack.urls, http=http)
