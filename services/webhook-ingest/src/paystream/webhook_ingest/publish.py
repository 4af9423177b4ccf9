"""The pipeline's publish step: every record of a notification sent, then all acks (acks=all)
awaited together, bounded in time.

A provider hears "received" only after this returned: KafkaUnavailable means nothing was
promised and the provider retries. `Publisher` is the one interface the pipeline sees, so the
producer behind it can change without touching the pipeline.

This is the one place a service sends through a bare aiokafka producer rather than the FastStream
broker's publishers: on the request path, FastStream's publish (a command object, the publisher
middleware chain, text headers re-encoded) cost 40-60 us more CPU per notification than
`producer.send` (108-124 us against 150-186 us for the publish step, a tenth of a whole
request), and ingest throughput may lose at most 10% to the restructure (docs/benchmarks.md).
The broker still declares the publishers, so the AsyncAPI document shows what webhook-ingest
publishes; the producer has the broker's settings (`shared.kafka.create_producer`: acks=all, not
idempotent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from paystream.notifications.outgoing import OutgoingEvent
from paystream.shared.errors import ServiceUnavailable
from paystream.shared.kafka import CLOUDEVENTS_CONTENT_TYPE
from paystream.shared.observability import inject_headers

# (topic, Kafka key, event)
Record = tuple[str, str, OutgoingEvent]
KafkaHeaders = list[tuple[str, bytes]]


class KafkaUnavailable(ServiceUnavailable):
    code = "kafka_unavailable"


class Publisher(Protocol):
    async def publish(self, records: Sequence[Record]) -> None:
        """Return once Kafka acknowledged every record; raise KafkaUnavailable otherwise."""
        ...


class AckedPublisher:
    """`Publisher` over an aiokafka producer made by `shared.kafka.create_producer`."""

    def __init__(self, producer: AIOKafkaProducer, *, ack_timeout_s: float) -> None:
        self._producer = producer
        self._ack_timeout_s = ack_timeout_s

    async def publish(self, records: Sequence[Record]) -> None:
        # One trace context (the current span's) for all of the request's records: injecting
        # costs more than everything else in the headers.
        trace = inject_headers()
        futures: list[asyncio.Future[object]] = []
        refused: Exception | None = None
        try:
            async with asyncio.timeout(self._ack_timeout_s):
                for topic, key, ev in records:
                    futures.append(
                        await self._producer.send(
                            topic, ev.value(), key=key.encode(), headers=record_headers(ev, trace)
                        )
                    )
                # All must be acknowledged; awaiting them one after the other costs a tenth of
                # what asyncio.gather does on this path.
                for f in futures:
                    try:
                        await f
                    except Exception as exc:  # the broker answered, with an error
                        refused = exc
                        break
        except (TimeoutError, KafkaError) as exc:
            _abandon(futures)
            raise KafkaUnavailable("Kafka did not acknowledge the event") from exc
        if refused is not None:
            _abandon(futures)
            raise KafkaUnavailable("Kafka refused the event") from refused


def record_headers(ev: OutgoingEvent, trace: KafkaHeaders) -> KafkaHeaders:
    """`shared.kafka.envelope_headers(ev.envelope(), trace)`, without building the envelope."""
    return [
        CLOUDEVENTS_CONTENT_TYPE,
        ("ce_type", ev.data.TYPE.encode()),
        ("ce_id", str(ev.id).encode()),
        *trace,
    ]


def _abandon(futures: list[asyncio.Future[object]]) -> None:
    # Records already handed to the producer may still fail later; nobody waits for them any
    # more (the caller answers 503 and the provider retries), so their outcome is consumed here
    # instead of leaving "exception never retrieved" noise.
    for f in futures:
        f.add_done_callback(_consume)


def _consume(f: asyncio.Future[object]) -> None:
    if not f.cancelled():
        f.exception()
