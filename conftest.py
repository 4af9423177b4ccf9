"""Fixtures shared by every test suite in the workspace.

Integration and end-to-end tests run on the real Kafka broker and PostgreSQL started by
`deploy/local/infra.sh` (the Makefile does it). They FAIL, never skip, when that infrastructure
is missing: a skipped integration test proves nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker

from paystream.shared.db import create_pool
from paystream.shared.events import Envelope
from paystream.shared.kafka import BatchConsumer, create_broker, create_producer, publish
from paystream.shared.migrations import upgrade
from paystream.shared.settings import BaseServiceSettings
from paystream.shared.topics import Topics

REPO = Path(__file__).resolve().parent


def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: integration tests need the local infrastructure. "
            "Run them with `make test` (or `make infra-up` and "
            '`eval "$(deploy/local/infra.sh env)"`).'
        )
    return value


@pytest.fixture(scope="session")
def infra_settings() -> BaseServiceSettings:
    _require_env("PAYSTREAM_KAFKA_BOOTSTRAP")
    _require_env("PAYSTREAM_PG_PORT")
    return BaseServiceSettings()


@pytest.fixture(scope="session")
def kafka_bootstrap(infra_settings: BaseServiceSettings) -> str:
    return infra_settings.kafka_bootstrap


FreshDatabase = Callable[[str, Path | None], Awaitable[str]]


@pytest.fixture
async def fresh_database(infra_settings: BaseServiceSettings) -> AsyncIterator[FreshDatabase]:
    """Create an empty database (migrated if a migrations dir is given); dropped after the test."""
    created: list[str] = []
    admin_dsn = infra_settings.pg_dsn("postgres")

    async def make(prefix: str, migrations_dir: Path | None = None) -> str:
        name = f"t_{prefix}_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        created.append(name)
        dsn = infra_settings.pg_dsn(name)
        if migrations_dir is not None:
            await upgrade(migrations_dir, dsn)
        return dsn

    yield make
    conn = await asyncpg.connect(admin_dsn)
    try:
        for name in created:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def pool_for() -> AsyncIterator[Callable[[str], Awaitable[asyncpg.Pool]]]:
    pools: list[asyncpg.Pool] = []

    async def make(dsn: str) -> asyncpg.Pool:
        pool = await create_pool(dsn, min_size=1, max_size=10)
        pools.append(pool)
        return pool

    yield make
    for p in pools:
        await p.close()


DatabaseWith = Callable[[str, str], Awaitable[asyncpg.Pool]]


@pytest.fixture
def database_with(
    fresh_database: FreshDatabase, pool_for: Callable[[str], Awaitable[asyncpg.Pool]]
) -> DatabaseWith:
    """`await database_with(prefix, ddl)`: a pool on an empty database of this test's own, with
    `ddl` run in it (a table or two that shared code writes to, without a service's migrations)."""

    async def make(prefix: str, ddl: str) -> asyncpg.Pool:
        pool = await pool_for(await fresh_database(prefix, None))
        await pool.execute(ddl)
        return pool

    return make


@pytest.fixture
def unique_suffix() -> str:
    """Tests that create topics or consumer groups name them with this, so runs never collide."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def make_topics(kafka_bootstrap: str) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """Create real topics (auto-creation is off on our broker); deleted after the test."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    made: list[str] = []

    async def make(*names: str, partitions: int = 3) -> None:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        made.extend(names)

    yield make
    if made:
        await admin.delete_topics(made)
    await admin.close()


@pytest.fixture
async def test_topics(make_topics: Callable[..., Awaitable[None]], unique_suffix: str) -> Topics:
    """Every paystream topic under a prefix of this test's own, created now and deleted after.
    Give a service `topic_prefix=test_topics.prefix` and it uses them."""
    topics = Topics(f"t.{unique_suffix}.")
    await make_topics(*(s.name for s in topics.specs()))
    return topics


@pytest.fixture
async def delete_topics(kafka_bootstrap: str) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """Delete every paystream topic under a prefix: what a service made at start can vanish
    before a test sends anything (a broker that can never acknowledge)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()

    async def delete(prefix: str) -> None:
        names = {s.name for s in Topics(prefix).specs()}
        # The broker's metadata follows creations and deletions asynchronously: wait until it
        # shows every topic the service made, delete them, and wait until it shows none (until
        # then a produce to them may still be acknowledged).
        deadline = asyncio.get_running_loop().time() + 30
        while not names <= set(await admin.list_topics()):
            assert asyncio.get_running_loop().time() < deadline, f"topics {names} never appeared"
            await asyncio.sleep(0.1)
        await admin.delete_topics(sorted(names))
        while names & set(await admin.list_topics()):
            assert asyncio.get_running_loop().time() < deadline, f"topics {names} not deleted"
            await asyncio.sleep(0.1)

    yield delete
    await admin.close()


@pytest.fixture
async def kafka_broker(kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
    """A connected FastStream broker, as a service has one (acks=all publisher)."""
    broker = create_broker(kafka_bootstrap, "test")
    await broker.connect()
    yield broker
    await broker.stop()


RunConsumer = Callable[..., contextlib.AbstractAsyncContextManager[BatchConsumer]]


@pytest.fixture
def run_consumer(kafka_bootstrap: str) -> RunConsumer:
    """`async with run_consumer(topics=..., group_id=..., pool=..., handler=..., **options) as c`:
    a BatchConsumer on a broker of its own, consuming until the block ends, then stopped (what
    the test asserts after the block is what a stopped consumer left behind)."""

    @contextlib.asynccontextmanager
    async def run(**options: Any) -> AsyncIterator[BatchConsumer]:
        broker = create_broker(kafka_bootstrap, "test")
        await broker.connect()
        consumer = BatchConsumer(broker=broker, **{"service": "test", **options})
        try:
            await consumer.start()
            yield consumer
        finally:
            await consumer.stop()
            await broker.stop()

    return run


ReadTopic = Callable[..., Awaitable[list[ConsumerRecord[bytes, bytes]]]]


@pytest.fixture
def read_topic(kafka_bootstrap: str) -> ReadTopic:
    """`await read_topic(topic, expect=n, wait_s=20)`: the topic's records from the start, read
    until `expect` of them arrived or `wait_s` passed (all of `wait_s` when `expect` is None)."""

    async def read(
        topic: str, *, expect: int | None = None, wait_s: float = 20
    ) -> list[ConsumerRecord[bytes, bytes]]:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
        )
        await consumer.start()
        out: list[ConsumerRecord[bytes, bytes]] = []
        try:
            deadline = asyncio.get_running_loop().time() + wait_s
            while (expect is None or len(out) < expect) and (
                asyncio.get_running_loop().time() < deadline
            ):
                for recs in (await consumer.getmany(timeout_ms=200)).values():
                    out.extend(recs)
        finally:
            await consumer.stop()
        return out

    return read


Until = Callable[..., Awaitable[None]]


@pytest.fixture
def until() -> Until:
    """`await until(async_predicate, timeout_s=30)`: poll until it holds; fail the test if not."""

    async def wait(cond: Callable[[], Awaitable[bool]], timeout_s: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not await cond():
            assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
            await asyncio.sleep(0.05)

    return wait


SendRecords = Callable[..., Awaitable[None]]


@pytest.fixture
def send_records(kafka_bootstrap: str) -> SendRecords:
    """`await send_records(topic, (key, value[, headers]), ...)`: each record sent in order and
    acknowledged (acks=all); an Envelope value goes with its CloudEvents headers, bytes as given."""

    async def send(topic: str, *records: tuple[Any, ...]) -> None:
        producer = create_producer(kafka_bootstrap, "test")
        await producer.start()
        try:
            for key, value, *headers in records:
                if isinstance(value, Envelope):
                    await publish(producer, topic, key, value)
                else:
                    await producer.send_and_wait(
                        topic, value, key=key.encode(), headers=headers[0] if headers else []
                    )
        finally:
            await producer.stop()

    return send


GroupOffsets = Callable[[str, str, int], Awaitable[dict[int, tuple[int | None, int]]]]


@pytest.fixture
def group_offsets(kafka_bootstrap: str) -> GroupOffsets:
    """`await group_offsets(group, topic, partitions)`: partition -> (the group's committed
    offset or None, the end offset), read by a probe that does not join the group."""

    async def read(group: str, topic: str, partitions: int) -> dict[int, tuple[int | None, int]]:
        probe = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
        await probe.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            ends = await probe.end_offsets(tps)
            return {tp.partition: (await probe.committed(tp), ends[tp]) for tp in tps}
        finally:
            await probe.stop()

    return read


# --- the stateful fake Stripe (issue 12) -----------------------------------------------------


@pytest.fixture
async def fake_stripe() -> AsyncIterator[Any]:
    """A fresh fake Stripe over HTTP (`paystream.devtools.fakes.stripe`): customers, saved
    cards, SetupIntents, PaymentIntents that decline or ask for 3-D Secure, signed webhooks.
    Yields a `RunningStripe` (`.url`, `.fake`, `.authenticate(...)`, `.add_webhook_endpoint`).
    Where stripe-mock runs (`make test` sets PAYSTREAM_STRIPE_API_BASE), every request is
    checked by stripe-mock first, and paths the fake does not implement are answered there."""
    from paystream.devtools.fakes.stripe import FakeStripe, running

    fake = FakeStripe(stripe_mock_url=os.environ.get("PAYSTREAM_STRIPE_API_BASE") or None)
    async with running(fake) as handle:
        yield handle
