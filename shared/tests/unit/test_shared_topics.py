"""Topics are bound once: every event type has its topic, and a prefix moves them all."""

from __future__ import annotations

import pytest

from paystream.shared.events import EVENT_TYPES, PaymentSucceededV1, WebhookReceivedV1
from paystream.shared.settings import BaseServiceSettings
from paystream.shared.topics import (
    CO_PARTITIONED,
    EVENT_TOPICS,
    LEDGER_EVENTS,
    PAYMENTS_EVENTS,
    TOPICS,
    Topics,
    UnroutedEventType,
    topic_of,
)


def test_every_event_type_has_a_topic_that_exists() -> None:
    assert set(EVENT_TOPICS) == set(EVENT_TYPES)
    assert set(EVENT_TOPICS.values()) <= {s.name for s in TOPICS}


def test_an_event_type_without_a_topic_is_refused() -> None:
    with pytest.raises(UnroutedEventType):
        topic_of("paystream.nothing.v1")


def test_a_prefix_moves_every_topic_and_keeps_their_configuration() -> None:
    topics = Topics("staging.")
    assert topics.of(PaymentSucceededV1.TYPE) == "staging.payments.events"
    assert topics.of(WebhookReceivedV1.TYPE) == "staging.webhooks.raw"
    assert topics.ledger_events == f"staging.{LEDGER_EVENTS}"
    specs = {s.name: s for s in topics.specs()}
    assert set(specs) == {f"staging.{s.name}" for s in TOPICS}
    assert specs["staging.payments.events"].config["retention.ms"] == "-1"
    assert Topics().payments_events == PAYMENTS_EVENTS


@pytest.mark.parametrize("prefix", ["a b.", "x/y", "é.", "a" * 101])
def test_a_prefix_kafka_would_refuse_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="topic"):
        BaseServiceSettings(topic_prefix=prefix)
    with pytest.raises(ValueError, match="invalid topic prefix"):
        Topics(prefix)


def test_settings_give_the_topics_of_their_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTREAM_TOPIC_PREFIX", "t.1.")
    assert BaseServiceSettings().topics == Topics("t.1.")


def test_the_topics_consumed_together_have_as_many_partitions() -> None:
    counts = {s.name: s.partitions for s in TOPICS if s.name in CO_PARTITIONED}
    assert set(counts) == set(CO_PARTITIONED)
    assert len(set(counts.values())) == 1
