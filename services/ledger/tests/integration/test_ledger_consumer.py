"""The ledger's consumer and outbox on the real broker: paid orders published to a real topic
are applied once per order and committed; CreditsGrantedV1 reaches ledger's topic."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker
from ledgerkit import envelope, paid_order

from paystream.ledger.consumers import ledger_handler
from paystream.shared.clock import SystemClock
from paystream.shared.events import (
    AutoRechargeConfiguredV1,
    BalanceLowV1,
    CreditsGrantedV1,
    Envelope,
    OrderStatusChangedV1,
)
from paystream.shared.kafka import BatchConsumer, create_producer, publish
from paystream.shared.outbox import OutboxRelay
from paystream.shared.topics import Topics

pytestmark = pytest.mark.integration


def _paid(order: str, user: str, credits: int, *, sibling: bool = False) -> Envelope:
    env = envelope(paid_order(order, user, credits))
    # A sibling: the same order announced again under another event id.
    return env.model_copy(update={"id": uuid.uuid4()}) if sibling else env


async def _drain(topic: str, bootstrap: str, expect: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(recs)
        # Anything beyond what we expect would be a duplicate publication: give it a moment.
        for recs in (await consumer.getmany(timeout_ms=500)).values():
            out.extend(recs)
    finally:
        await consumer.stop()
    return out


async def test_consumer_applies_paid_orders_once_per_order_commits_and_relays_grants(
    kafka_bootstrap: str,
    test_topics: Topics,
    pool: asyncpg.Pool,
    kafka_broker: KafkaBroker,
    run_consumer: Callable[..., contextlib.AbstractAsyncContextManager[BatchConsumer]],
    until: Callable[..., Awaitable[None]],
    unique_suffix: str,
) -> None:
    payments, granted_topic = test_topics.orders_events, test_topics.ledger_events

    users = [f"user-{unique_suffix}-{i}" for i in range(5)]
    events = [_paid(f"order-{unique_suffix}-{i}", users[i % 5], 10 + i) for i in range(40)]
    # A second announcement of 10 of the orders: another event id, the same order.
    siblings = [
        _paid(f"order-{unique_suffix}-{i}", users[i % 5], 10 + i, sibling=True)
        for i in range(0, 40, 4)
    ]
    failed = Envelope.wrap(
        OrderStatusChangedV1(
            order_id="order-failed",
            user_id=users[0],
            old_status="pending",
            new_status="failed",
            changed_at=datetime.now(UTC),
        ),
        source="paystream/test",
    )
    producer = create_producer(kafka_bootstrap, "ledger-test")
    await producer.start()
    try:
        for env in [*events, *siblings, failed, *events[:5]]:  # and 5 redeliveries
            await publish(producer, payments, env.subject or users[0], env)

        group = f"ledger.{unique_suffix}"
        async with run_consumer(
            service="ledger",
            topics=[payments],
            group_id=group,
            pool=pool,
            handler=ledger_handler(SystemClock),
        ) as consumer:
            expected = {
                u: sum(10 + i for i in range(40) if i % 5 == n) for n, u in enumerate(users)
            }

            async def credited() -> bool:
                rows = await pool.fetch(
                    "SELECT user_id, sum(remaining)::bigint AS n FROM lots GROUP BY user_id"
                )
                return {r["user_id"]: r["n"] for r in rows} == expected

            probe = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
            await probe.start()
            tps = [TopicPartition(payments, p) for p in range(3)]
            ends = await probe.end_offsets(tps)

            async def committed() -> bool:
                # Offsets are committed only after the database transaction: wait for all.
                return all([(await probe.committed(tp) or 0) == ends[tp] for tp in tps])

            try:
                await until(credited)
                await until(committed)
            finally:
                await probe.stop()

        assert consumer.applied == 51  # 40 orders + 10 siblings + 1 other event, each once
        assert consumer.duplicates == 5
        assert await pool.fetchval("SELECT count(*) FROM transactions") == 40
        assert await pool.fetchval(
            "SELECT -sum(amount) FROM postings WHERE account_id = 'system:issuance'"
        ) == sum(expected.values())

        relay = OutboxRelay(service="ledger", pool=pool, broker=kafka_broker, topics=test_topics)
        assert await relay.run_once() == 40
        assert await relay.run_once() == 0
    finally:
        await producer.stop()

    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    records = await _drain(granted_topic, kafka_bootstrap, expect=40)
    assert len(records) == 40
    grants = [Envelope.from_bytes(r.value or b"").payload_as(CreditsGrantedV1) for r in records]
    assert sorted(g.order_id for g in grants) == sorted(e.payload().order_id for e in events)  # type: ignore[attr-defined]
    for r, g in zip(records, grants, strict=True):
        assert r.key == g.user_id.encode()
        assert dict(r.headers)["ce_type"] == CreditsGrantedV1.TYPE.encode()
    # Per user, the events arrive in ledger order (same key, same partition): balances climb.
    for u in users:
        mine = [g.balance_after for g in grants if g.user_id == u]
        assert mine == sorted(mine)
        assert mine[-1] == expected[u]


async def test_auto_recharge_settings_set_the_threshold_and_a_balance_below_is_announced(
    kafka_bootstrap: str,
    test_topics: Topics,
    pool: asyncpg.Pool,
    run_consumer: Callable[..., contextlib.AbstractAsyncContextManager[BatchConsumer]],
    until: Callable[..., Awaitable[None]],
    unique_suffix: str,
) -> None:
    """Checkout's AutoRechargeConfiguredV1 (orders.events) is the user's threshold: set, then
    removed when auto-recharge is turned off; a balance already below is announced at once."""
    orders = test_topics.orders_events
    user = f"user-{unique_suffix}-ar"

    def configured(threshold: int | None) -> Envelope:
        return Envelope.wrap(
            AutoRechargeConfiguredV1(
                user_id=user,
                unit="credits",
                threshold=threshold,
                actor=user,
                configured_at=datetime.now(UTC),
            ),
            source="paystream/checkout/auto-recharge",
        )

    producer = create_producer(kafka_bootstrap, "ledger-test")
    await producer.start()
    try:
        await publish(producer, orders, user, _paid(f"order-{unique_suffix}-ar", user, 30))
        await publish(producer, orders, user, configured(100))
        async with run_consumer(
            service="ledger",
            topics=[orders],
            group_id=f"ledger.{unique_suffix}.ar",
            pool=pool,
            handler=ledger_handler(SystemClock),
        ):

            async def threshold_is(value: int | None) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    found = await pool.fetchval(
                        "SELECT threshold FROM balance_thresholds WHERE user_id = $1", user
                    )
                    return bool(found == value)

                return check

            await until(await threshold_is(100))
            # 30 available under a threshold of 100: below at once, and announced.
            assert await pool.fetchval(
                "SELECT below FROM balance_thresholds WHERE user_id = $1", user
            )
            lows = await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE key = $1"
                " AND convert_from(payload, 'UTF8') LIKE '%' || $2 || '%'",
                user,
                BalanceLowV1.TYPE,
            )
            assert lows == 1

            await publish(producer, orders, user, configured(None))

            async def removed() -> bool:
                return (
                    await pool.fetchval(
                        "SELECT count(*) FROM balance_thresholds WHERE user_id = $1", user
                    )
                    == 0
                )

            await until(removed)
    finally:
        await producer.stop()
