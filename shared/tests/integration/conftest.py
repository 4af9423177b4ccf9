"""Fixtures of the consumer and outbox tests: their events and their database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from paystream.shared.db import INBOX_DDL, OUTBOX_DDL
from paystream.shared.events import CreditsSpentV1, Envelope

SpentEvent = Callable[..., Envelope]


@pytest.fixture
def spent_event() -> SpentEvent:
    """`spent_event(user, n, reason="test")`: a fresh credits-spent event of `n` credits."""

    def make(user: str, n: int, reason: str = "test") -> Envelope:
        return Envelope.wrap(
            CreditsSpentV1(
                user_id=user,
                transaction_id=str(uuid.uuid4()),
                credits=n,
                reason=reason,
                balance_after=0,
                spent_at=datetime.now(UTC),
            ),
            source="paystream/test",
            subject=user,
        )

    return make


ConsumerDb = Callable[..., Awaitable[asyncpg.Pool]]


@pytest.fixture
def consumer_db(
    fresh_database: Callable[..., Awaitable[str]], pool_for: Callable[..., Awaitable[asyncpg.Pool]]
) -> ConsumerDb:
    """`await consumer_db(applied_ddl)`: a fresh database with the inbox, the outbox and the
    tests' `applied` table."""

    async def make(applied: str) -> asyncpg.Pool:
        pool = await pool_for(await fresh_database("shared"))
        async with pool.acquire() as conn:
            await conn.execute(INBOX_DDL)
            await conn.execute(OUTBOX_DDL)
            await conn.execute(applied)
        return pool

    return make
