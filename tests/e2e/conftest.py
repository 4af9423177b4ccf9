"""End-to-end fixtures: the four services run as separate processes against the real Kafka,
PostgreSQL and stripe-mock of the test environment; tests talk to them over HTTP only."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from paystream.devtools.client import JWT_SECRET, WEBHOOK_SECRETS, Harness
from paystream.devtools.sandbox import Sandbox
from paystream.devtools.stack import Stack

# The default catalog plus one plan with a rollover cap (the default catalog has none), so the
# carry into the next month is exercised end to end; the other plans stay as shipped.
ROLLOVER_PLAN = {
    "id": "pro_rollover",
    "name": "Pro (rollover)",
    "unit": "receives",
    "allowance": 20,
    "prices": [{"value": "29.00", "currency": "CNY"}],
    "rollover": {"cap": 10},
}


def _e2e_catalog(run_dir: Path) -> Path:
    default = resources.files("paystream.checkout.catalog").joinpath("catalog.default.json")
    catalog = json.loads(default.read_text("utf-8"))
    catalog["plans"].append(ROLLOVER_PLAN)
    path = run_dir / "e2e-catalog.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(catalog), "utf-8")
    return path


@pytest.fixture(scope="session")
def stack(infra_settings: object) -> Iterator[Stack]:
    run_dir = Path(os.environ.get("PAYSTREAM_RUN_DIR", ".run/test"))
    port_base = int(os.environ.get("PAYSTREAM_PORT_BASE", "18000"))
    sandbox = Sandbox.create(run_dir, port_base)
    s = Stack(
        port_base=port_base,
        log_dir=run_dir / "logs" / "e2e",
        # The provider fakes (Alipay, WeChat Pay, TronGrid, Stripe) run as processes beside the
        # services.
        sandbox=sandbox,
        # The web app too, in sandbox mode: the browser tests drive it.
        web=True,
        env={
            "PAYSTREAM_JWT_SECRET": JWT_SECRET,
            "PAYSTREAM_STRIPE_WEBHOOK_SECRETS": ",".join(WEBHOOK_SECRETS),
            "PAYSTREAM_LOG_LEVEL": "INFO",
            # Subscriptions' sweep (periods, reminders, grace) every second, not every 30: the
            # plan tests move the sandbox clock and wait for what it decides.
            "PAYSTREAM_SUBSCRIPTION_SWEEP_S": "1",
            # The reconciler at test speed (test_e2e_reconcile.py): every second, orders older
            # than 8 s, refunds older than 15 s (longer than a refund call's 3 attempts of 3 s,
            # so it never asks while the request is still in flight), asked again within 2 s.
            # Alipay calls time out after 3 s, so the fake's late answer is a timeout.
            "PAYSTREAM_RECONCILE_INTERVAL_S": "1",
            "PAYSTREAM_RECONCILE_ORDER_MIN_AGE_S": "8",
            "PAYSTREAM_RECONCILE_REFUND_MIN_AGE_S": "15",
            "PAYSTREAM_RECONCILE_BACKOFF_S": "1",
            "PAYSTREAM_RECONCILE_BACKOFF_MAX_S": "2",
            "PAYSTREAM_ALIPAY_TIMEOUT_S": "3",
            "PAYSTREAM_CATALOG_FILE": str(_e2e_catalog(run_dir).resolve()),
            # Saved cards and auto-recharge (test_e2e_auto_recharge.py) on the stateful fake
            # Stripe, which declines and asks for 3-D Secure; one-off payments stay on
            # stripe-mock. The worker looks every half second, and retries after a second.
            "PAYSTREAM_STRIPE_CUSTOMERS_API_BASE": sandbox.url("fake-stripe"),
            "PAYSTREAM_AUTO_RECHARGE_POLL_S": "0.5",
            "PAYSTREAM_AUTO_RECHARGE_BACKOFF_S": "1",
        },
    )
    s.start()
    try:
        s.wait_ready(timeout_s=180)
        yield s
    finally:
        s.stop()


# Debian's Chromium (`make test` installs it with deploy/local/desktop.sh); Playwright drives it.
# Playwright's own browser download cannot work on a closed network, and the flags keep
# Chromium from calling home (its connections would be refused, many at a time).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """A real headless Chromium (Playwright gives it a fresh, empty user data dir). Missing, the
    tests FAIL, never skip: run them with `make test`, which installs it."""
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - once per session, before the loop matters
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (deploy/local/desktop.sh)")
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield chromium
    finally:
        await chromium.close()
        await pw.stop()


@pytest.fixture
async def page(browser: Any, stack: Stack) -> AsyncIterator[Any]:
    """A fresh browser context (its own cookies) per test."""
    context = await browser.new_context(base_url=stack.web_url, accept_downloads=True)
    pg = await context.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        await context.close()


@pytest.fixture
async def harness(stack: Stack) -> AsyncIterator[Harness]:
    async with httpx.AsyncClient(timeout=30.0) as http:
        h = Harness(urls=stack.urls, http=http)
        try:
            yield h
        finally:
            await h.aclose()


@pytest.fixture
async def fake(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The stateful fake Stripe's API (saved cards): what Stripe.js would call to confirm a
    SetupIntent (test_e2e_auto_recharge.py, the /cards page in test_e2e_web.py)."""
    assert stack.sandbox is not None
    async with httpx.AsyncClient(base_url=stack.sandbox.url("fake-stripe"), timeout=30) as http:
        yield http
