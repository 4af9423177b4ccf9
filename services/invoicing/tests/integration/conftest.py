"""Fixtures of the invoicing integration tests: a migrated database, payments, batches, the app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from paystream.devtools.records import consumed
from paystream.invoicing.app import create_app
from paystream.invoicing.consumers import handle_payment_events
from paystream.invoicing.domain import describe
from paystream.invoicing.settings import InvoicingSettings
from paystream.shared.auth import make_token
from paystream.shared.events import Envelope, EventData, GrantSpec, InvoiceLine, OrderPaidV1
from paystream.shared.kafka import record_inbox

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@pytest.fixture
async def invoicing_dsn(fresh_database: Callable[..., Awaitable[str]]) -> str:
    return await fresh_database("invoicing", MIGRATIONS)


@pytest.fixture
async def invoicing_pool(
    invoicing_dsn: str, pool_for: Callable[[str], Awaitable[asyncpg.Pool]]
) -> asyncpg.Pool:
    return await pool_for(invoicing_dsn)


def paid(
    order_id: str,
    *,
    user_id: str = "alice",
    paid_at: datetime | None = None,
    provider_event_id: str | None = None,
    package_id: str | None = "standard",
    credits: int = 1100,
    amount_minor: int = 10_000,
    currency: str = "CNY",
    paid_minor: int | None = None,
    review: Literal["matched", "overpaid", "accepted"] = "matched",
) -> OrderPaidV1:
    """What checkout says about a paid order (OrderPaidV1): one package line, one lot."""
    return OrderPaidV1(
        order_id=order_id,
        user_id=user_id,
        package_id=package_id,
        grants=[GrantSpec(quantity=credits, validity="P6M", cost_minor=amount_minor)],
        lines=[
            InvoiceLine(
                description=describe(package_id, credits),
                quantity=1,
                unit_amount_minor=amount_minor,
                amount_minor=amount_minor,
            )
        ],
        amount_minor=amount_minor,
        currency=currency,
        paid_minor=amount_minor if paid_minor is None else paid_minor,
        paid_currency=currency,
        provider="stripe",
        payment_method="stripe_checkout",
        provider_event_id=provider_event_id or f"evt_{uuid.uuid4().hex}",
        provider_payment_id=f"pi_{order_id}",
        paid_at=paid_at or datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        review=review,
    )


@pytest.fixture
def make_paid() -> Callable[..., OrderPaidV1]:
    return paid


def envelope(data: EventData, *, user_id: str = "alice") -> Envelope:
    return Envelope.wrap(data, source="paystream/test", subject=user_id)


@pytest.fixture
def make_envelope() -> Callable[..., Envelope]:
    return envelope


ApplyBatch = Callable[[list[Envelope]], Awaitable[int]]


@pytest.fixture
def apply_batch(invoicing_pool: asyncpg.Pool) -> ApplyBatch:
    """Apply envelopes as one consumed batch, the way BatchConsumer does: one transaction,
    inbox first, then the handler with the events never applied before."""

    async def apply(envs: list[Envelope]) -> int:
        async with invoicing_pool.acquire() as conn, conn.transaction():
            fresh = await record_inbox(conn, [consumed(e) for e in envs])
            if fresh:
                await handle_payment_events(conn, fresh)
        return len(fresh)

    return apply


def auth(user_id: str, *, admin: bool = False) -> dict[str, str]:
    secret = InvoicingSettings().jwt_secret.get_secret_value()
    token = make_token(user_id, secret, role="admin" if admin else None)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth_headers() -> Callable[..., dict[str, str]]:
    return auth


AppClient = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def invoicing_client(invoicing_dsn: str) -> AppClient:
    """The real app, lifespan included, on the test's database; HTTP through ASGI."""

    @asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        overrides.setdefault("invoicing_run_consumer", False)
        settings = InvoicingSettings(database=invoicing_dsn.rsplit("/", 1)[1], **overrides)
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://invoicing"
            ) as client,
        ):
            yield app, client

    return run
