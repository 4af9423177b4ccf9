"""Events on Kafka follow the CloudEvents Kafka protocol binding in structured content mode: the
`content-type` header is `application/cloudevents+json` and the value is the whole event. Read
back here with the CloudEvents Python SDK, as a consumer outside paystream would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from paystream.shared.events import CreditsSpentV1, Envelope
from paystream.shared.kafka import OutgoingRecord, envelope_headers, publish_all

pytestmark = pytest.mark.integration


async def test_a_published_event_reads_back_with_the_cloudevents_sdk(
    kafka_broker, make_topics, read_topic, unique_suffix: str
) -> None:
    topic = f"t.ce.{unique_suffix}"
    await make_topics(topic)
    at = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    env = Envelope.wrap(
        CreditsSpentV1(
            user_id="u-1",
            transaction_id="tx-1",
            credits=5,
            reason="export",
            balance_after=95,
            spent_at=at,
        ),
        source="paystream/ledger",
        subject="u-1",
        time=at,
    )
    headers = {k: v.decode() for k, v in envelope_headers(env)}
    await publish_all(
        kafka_broker, [OutgoingRecord(topic, b"u-1", env.to_bytes(), headers)], timeout_s=10
    )
    (rec,) = await read_topic(topic, expect=1, wait_s=10)
    message = ce_kafka.KafkaMessage(headers=dict(rec.headers), key=rec.key, value=rec.value)
    # The binding: a content-type starting with application/cloudevents means structured mode.
    assert message.headers["content-type"] == b"application/cloudevents+json"
    event = ce_kafka.from_structured_event(message)
    assert event.get_id() == str(env.id)
    assert event.get_type() == "paystream.credits.spent.v1"
    assert event.get_source() == "paystream/ledger"
    assert event.get_subject() == "u-1"
    assert event.get_time() == at
    assert event.get_datacontenttype() == "application/json"
    assert event.get_data() == env.data
    # Kafka key = the user id (partitionkey is the binding's name for it).
    assert rec.key == b"u-1"
