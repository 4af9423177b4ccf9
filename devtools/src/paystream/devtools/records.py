"""Consumed records built from envelopes, as the broker hands them to a batch handler: for tests
and tools that call a handler directly, without Kafka in between."""

from __future__ import annotations

import itertools

from aiokafka.structs import ConsumerRecord

from paystream.shared.events import Envelope
from paystream.shared.kafka import Consumed

_offsets = itertools.count()


def consumed(
    env: Envelope,
    *,
    topic: str = "payments.events",
    offset: int | None = None,
    key: bytes | None = None,
) -> Consumed:
    """`env` as partition 0 of `topic` would deliver it; the offset counts up unless given, the
    key is the envelope's subject unless given."""
    value = env.to_bytes()
    if key is None and env.subject:
        key = env.subject.encode()
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic=topic,
        partition=0,
        offset=next(_offsets) if offset is None else offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=[],
    )
    return Consumed(record, env)
