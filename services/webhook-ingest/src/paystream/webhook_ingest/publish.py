"""The pipeline's publish step: every record of a notification sent, then all acks (acks=all)
awaited together, bounded in time.

A provider hears "received" only after this returned: KafkaUnavailable means nothing was
promised and the provider retries. `Publisher` is the one interface the pipeline sees, so the
producer behind it can change without touching the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from aiokafka.errors import KafkaError
from faststream.exceptions import IncorrectState

from paystream.notifications.outgoing import OutgoingEvent
from paystream.shared.errors import ServiceUnavailable
from paystream.shared.kafka import OutgoingRecord
from paystream.shared.observability import trace_carrier
from paystream.shared.runtime import ServiceRuntime

# (topic, Kafka key, event)
Record = tuple[str, str, OutgoingEvent]


class KafkaUnavailable(ServiceUnavailable):
    code = "kafka_unavailable"


class Publisher(Protocol):
    async def publish(self, records: Sequence[Record]) -> None:
        """Return once Kafka acknowledged every record; raise KafkaUnavailable otherwise."""
        ...


class BrokerPublisher:
    """`Publisher` over the service's FastStream broker: `ServiceRuntime.publish` sends every
    record through the publisher declared for its topic (acks=all, see shared.kafka)."""

    def __init__(self, runtime: ServiceRuntime, *, ack_timeout_s: float) -> None:
        self._runtime = runtime
        self._ack_timeout_s = ack_timeout_s

    async def publish(self, records: Sequence[Record]) -> None:
        # One trace context (the current span's) for all of the request's records: injecting
        # costs more than everything else in the headers.
        trace = trace_carrier()
        outgoing = [
            OutgoingRecord(topic, key.encode(), ev.value(), record_headers(ev, trace))
            for topic, key, ev in records
        ]
        try:
            await self._runtime.publish(outgoing, timeout_s=self._ack_timeout_s)
        except TimeoutError as exc:
            raise KafkaUnavailable("Kafka did not acknowledge the event") from exc
        except KafkaError as exc:
            raise KafkaUnavailable("Kafka refused the event") from exc
        except IncorrectState as exc:  # the broker's connection is closed (stopping)
            raise KafkaUnavailable("not connected to Kafka") from exc


def record_headers(ev: OutgoingEvent, trace: Mapping[str, str]) -> dict[str, str]:
    """The envelope's headers (`ce_type`, `ce_id`) and the trace context, without building the
    envelope."""
    return {"ce_type": ev.data.TYPE, "ce_id": str(ev.id), **trace}
