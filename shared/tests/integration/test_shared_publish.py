"""publish_all on the real broker: several records, every ack waited for, within a timeout."""

from __future__ import annotations

import time

import pytest

from paystream.shared.kafka import OutgoingRecord, declare_publisher, publish_all
from paystream.shared.topics import LEDGER_EVENTS, types_on

pytestmark = pytest.mark.integration


async def test_publish_all_returns_once_every_record_is_acknowledged(
    kafka_broker, make_topics, read_topic, unique_suffix: str
) -> None:
    declared, plain = f"t.pub.declared.{unique_suffix}", f"t.pub.plain.{unique_suffix}"
    await make_topics(declared, plain)
    # One topic through a declared publisher (what the AsyncAPI document shows), one without.
    declare_publisher(kafka_broker, declared, types_on(LEDGER_EVENTS), "test")
    records = [
        OutgoingRecord(t, f"u{i}".encode(), f"value-{t}-{i}".encode(), {"ce_id": f"id-{i}"})
        for t in (declared, plain)
        for i in range(50)
    ]
    await publish_all(kafka_broker, records, timeout_s=10)
    for topic in (declared, plain):
        got = await read_topic(topic, expect=50, wait_s=10)
        assert sorted(r.value for r in got) == sorted(r.value for r in records if r.topic == topic)
        for r in got:
            headers = dict(r.headers)
            assert headers["ce_id"].decode().startswith("id-")
            assert headers["correlation_id"] == headers["ce_id"]


async def test_publish_all_gives_up_at_its_timeout_when_kafka_cannot_acknowledge(
    kafka_broker, unique_suffix: str
) -> None:
    # No such topic, and the broker does not create topics: nothing can be acknowledged.
    records = [OutgoingRecord(f"t.pub.absent.{unique_suffix}", b"k", b"v")]
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await publish_all(kafka_broker, records, timeout_s=0.5)
    assert time.monotonic() - started < 3.0
