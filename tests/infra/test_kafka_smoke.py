"""Smoke test of the pinned Kafka broker with the client the services use (aiokafka).

It decides the Kafka version pinned in deploy/local/infra.sh: Kafka 4 dropped old protocol
versions (KIP-896), so each feature paystream relies on is exercised for real here: the idempotent
producer, consumer groups with manual commits, and transactions (commit, abort, offsets in a
transaction). Runs against $PAYSTREAM_KAFKA_BOOTSTRAP (`eval "$(deploy/local/infra.sh env)"`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

pytestmark = pytest.mark.integration

WAIT = 30.0  # seconds for any single broker round trip to show up


@pytest.fixture(scope="module")
def bootstrap() -> str:
    value = os.environ.get("PAYSTREAM_KAFKA_BOOTSTRAP")
    if not value:
        pytest.fail(
            "PAYSTREAM_KAFKA_BOOTSTRAP is not set: run `deploy/local/infra.sh up` and "
            '`eval "$(deploy/local/infra.sh env)"` first.'
        )
    return value


MakeTopic = Callable[..., Awaitable[str]]


@pytest.fixture
async def topic(bootstrap: str) -> AsyncIterator[MakeTopic]:
    """Create uniquely named topics (auto-creation is off on our broker); deleted afterwards."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    made: list[str] = []

    async def make(purpose: str, partitions: int = 1) -> str:
        name = f"infra-smoke-{purpose}-{uuid.uuid4().hex[:10]}"
        await admin.create_topics([NewTopic(name, partitions, 1)])
        made.append(name)
        return name

    yield make
    try:
        if made:
            await admin.delete_topics(made)
    finally:
        await admin.close()


async def _drain(consumer: AIOKafkaConsumer, until: Callable[[list[bytes]], bool]) -> list[bytes]:
    """Read values until `until(values)` holds; fails the test after WAIT seconds."""
    values: list[bytes] = []

    async def loop() -> None:
        while not until(values):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                values.extend(r.value for r in records if r.value is not None)

    await asyncio.wait_for(loop(), WAIT)
    return values


async def test_idempotent_producer_writes_each_record_exactly_once(
    bootstrap: str, topic: MakeTopic
) -> None:
    name = await topic("idem", partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        sent = [f"m-{i}".encode() for i in range(60)]
        metas = await asyncio.gather(
            *[
                await producer.send(name, value=v, key=str(i % 7).encode())
                for i, v in enumerate(sent)
            ]
        )
        # InitProducerId was answered: the producer has a real producer id.
        assert producer._txn_manager is not None
        assert producer._txn_manager.producer_id >= 0
    finally:
        await producer.stop()

    # Offsets per partition are dense from 0: nothing was written twice.
    per_partition: dict[int, list[int]] = {}
    for m in metas:
        per_partition.setdefault(m.partition, []).append(m.offset)
    for offsets in per_partition.values():
        assert sorted(offsets) == list(range(len(offsets)))

    consumer = AIOKafkaConsumer(
        name, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        got = await _drain(consumer, lambda vs: len(vs) >= len(sent))
        # Anything extra (a duplicate) would show up now.
        extra = await consumer.getmany(timeout_ms=1500)
        got += [r.value for rs in extra.values() for r in rs if r.value is not None]
    finally:
        await consumer.stop()
    assert sorted(got) == sorted(sent)


async def test_consumer_group_resumes_from_manually_committed_offset(
    bootstrap: str, topic: MakeTopic
) -> None:
    name = await topic("group")
    tp = TopicPartition(name, 0)
    group = f"infra-smoke-group-{uuid.uuid4().hex[:10]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(name, f"v{i}".encode())
    finally:
        await producer.stop()

    def group_consumer() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            name,
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    first = group_consumer()
    await first.start()
    try:
        seen = [(await asyncio.wait_for(first.getone(), WAIT)) for _ in range(4)]
        assert [m.value for m in seen] == [b"v0", b"v1", b"v2", b"v3"]
        assert first.assignment() == {tp}
        await first.commit()  # commits what was consumed (offset 4), not what was prefetched
        assert await first.committed(tp) == 4
    finally:
        await first.stop()

    second = group_consumer()
    await second.start()
    try:
        resumed = await asyncio.wait_for(second.getone(), WAIT)
        assert (resumed.offset, resumed.value) == (4, b"v4")
        rest = [(await asyncio.wait_for(second.getone(), WAIT)).value for _ in range(5)]
        assert rest == [b"v5", b"v6", b"v7", b"v8", b"v9"]
        # Nothing committed by the second consumer yet: the group's offset is still 4.
        assert await second.committed(tp) == 4
        await second.commit({tp: 10})
        assert await second.committed(tp) == 10
    finally:
        await second.stop()


async def test_transactions_commit_and_abort(bootstrap: str, topic: MakeTopic) -> None:
    name = await topic("txn")
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"infra-smoke-txn-{uuid.uuid4().hex[:10]}",
        enable_idempotence=True,
        acks="all",
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(name, b"committed-1")
        await producer.begin_transaction()
        await producer.send_and_wait(name, b"aborted-1")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(name, b"committed-2")
    finally:
        await producer.stop()

    def consumer(isolation: str) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            name,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            isolation_level=isolation,
        )

    committed_reader = consumer("read_committed")
    await committed_reader.start()
    try:
        got = await _drain(committed_reader, lambda vs: b"committed-2" in vs)
    finally:
        await committed_reader.stop()
    assert got == [b"committed-1", b"committed-2"]
    assert b"aborted-1" not in got

    # The aborted record really reached the log: a read_uncommitted reader sees it.
    dirty_reader = consumer("read_uncommitted")
    await dirty_reader.start()
    try:
        dirty = await _drain(dirty_reader, lambda vs: b"committed-2" in vs)
    finally:
        await dirty_reader.stop()
    assert dirty == [b"committed-1", b"aborted-1", b"committed-2"]


async def test_consumed_offsets_commit_atomically_with_a_transaction(
    bootstrap: str, topic: MakeTopic
) -> None:
    """Consume-transform-produce: output records and input offsets commit together, or neither."""
    source = await topic("eos-in")
    sink = await topic("eos-out")
    group = f"infra-smoke-eos-{uuid.uuid4().hex[:10]}"
    src_tp = TopicPartition(source, 0)

    plain = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await plain.start()
    try:
        for i in range(3):
            await plain.send_and_wait(source, f"in{i}".encode())
    finally:
        await plain.stop()

    txn = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"infra-smoke-eos-{uuid.uuid4().hex[:10]}",
        acks="all",
    )
    await txn.start()
    try:
        # Aborted: neither the output nor the offset may become visible.
        await txn.begin_transaction()
        await txn.send_and_wait(sink, b"out-aborted")
        await txn.send_offsets_to_transaction({src_tp: 2}, group)
        await txn.abort_transaction()
        # Committed: both become visible.
        async with txn.transaction():
            await txn.send_and_wait(sink, b"out-committed")
            await txn.send_offsets_to_transaction({src_tp: 3}, group)
    finally:
        await txn.stop()

    reader = AIOKafkaConsumer(
        sink,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await reader.start()
    try:
        out = await _drain(reader, lambda vs: b"out-committed" in vs)
    finally:
        await reader.stop()
    assert out == [b"out-committed"]

    member = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await member.start()
    try:
        assert await member.committed(src_tp) == 3
    finally:
        await member.stop()
