"""Fixtures shared by the ledger's integration tests (the root conftest has the infrastructure;
ledgerkit.py the builders and the app harness)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

# The tests import the kit by name (pytest runs with --import-mode=importlib, which does not put
# test directories on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledgerkit import JWT, LedgerApp

from paystream.ledger.app import create_app
from paystream.ledger.settings import LedgerSettings
from paystream.shared.kafka import create_producer
from paystream.shared.topics import Topics

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@pytest.fixture
async def pool(
    fresh_database: Callable[[str, Path | None], Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> asyncpg.Pool:
    """A pool on a fresh, migrated ledger database (dropped after the test)."""
    return await pool_for(await fresh_database("ledger", MIGRATIONS))


@pytest.fixture
async def ledger(
    fresh_database: Callable[[str, Path | None], Awaitable[str]],
    test_topics: Topics,
    unique_suffix: str,
    kafka_bootstrap: str,
) -> AsyncIterator[LedgerApp]:
    """The ledger app on its own database and topics, in sandbox mode, through its own lifespan
    (migrations, consumer, outbox relay, spend batcher, jobs)."""
    # Not migrated here: the app migrates its database at start, as it does in production.
    dsn = await fresh_database("ledger", None)
    settings = LedgerSettings(
        database=dsn.rsplit("/", 1)[1],
        topic_prefix=test_topics.prefix,
        ledger_consumer_group=f"ledger.{unique_suffix}",
        jwt_secret=JWT,
        log_level="WARNING",
        sandbox=True,
        # The tests run the jobs when they want them (POST /v1/sandbox/jobs/run).
        ledger_jobs_interval_s=3600,
    )
    app = create_app(settings)
    producer = create_producer(kafka_bootstrap, "ledger-test")
    await producer.start()
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://ledger", timeout=60
            ) as http,
        ):
            yield LedgerApp(
                http, app.state.runtime.pool, settings, app.state.clock, producer, app=app
            )
    finally:
        await producer.stop()
