"""`enqueue_many` on a pool connection: rows the relay can publish, headers intact."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from paystream.shared.db import OUTBOX_DDL
from paystream.shared.events import CreditsSpentV1, Envelope
from paystream.shared.outbox import OutboxRelay, enqueue_many
from paystream.shared.topics import LEDGER_EVENTS, Topics

pytestmark = pytest.mark.integration


async def test_enqueue_many_rows_are_published_by_the_relay(
    kafka_broker: KafkaBroker,
    read_topic: Callable[..., Awaitable[list[ConsumerRecord[bytes, bytes]]]],
    test_topics: Topics,
    fresh_database: Callable[..., Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
    unique_suffix: str,
) -> None:
    topic = test_topics.ledger_events  # the topic of CreditsSpentV1
    pool = await pool_for(await fresh_database("shared"))
    await pool.execute(OUTBOX_DDL)
    events = [
        Envelope.wrap(
            CreditsSpentV1(
                user_id=f"u{i}",
                transaction_id=str(uuid.uuid4()),
                credits=i + 1,
                reason="test",
                balance_after=0,
                spent_at=datetime.now(UTC),
            ),
            source="paystream/test",
        )
        for i in range(5)
    ]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue_many(conn, [(f"u{i}", env) for i, env in enumerate(events)])
    rows = await pool.fetch("SELECT topic, headers FROM outbox ORDER BY id")
    assert [r["headers"]["ce_id"] for r in rows] == [str(e.id) for e in events]
    # The row keeps the logical topic of the event's type; the relay adds the prefix.
    assert {r["topic"] for r in rows} == {LEDGER_EVENTS}

    relay = OutboxRelay(service="test", pool=pool, broker=kafka_broker, topics=test_topics)
    assert await relay.run_once() == 5
    got = await read_topic(topic, expect=5)
    assert sorted(dict(r.headers)["ce_id"].decode() for r in got) == sorted(
        str(e.id) for e in events
    )
