"""The events webhook-ingest publishes, serialized once (pure: no I/O, no clock).

`Envelope.wrap(...).to_bytes()` builds two pydantic models and dumps the payload twice; on the
webhook hot path that is a visible share of a request. `OutgoingEvent.value()` writes the SAME
bytes from one dump of the payload (a unit test pins the equality), and `envelope()` still gives
the model for whoever wants it (tests, reprocessing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import orjson

from paystream.shared.events import Envelope, EventData
from paystream.shared.kafka import CLOUDEVENTS_CONTENT_TYPE

# pydantic writes a UTC datetime with `Z`; orjson does the same with this option.
_ORJSON_OPTS: Final = orjson.OPT_UTC_Z

KafkaHeaders = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """An event payload and its envelope attributes, before it is wrapped."""

    data: EventData
    source: str
    id: uuid.UUID
    time: datetime
    subject: str | None

    def envelope(self) -> Envelope:
        return Envelope.wrap(
            self.data, source=self.source, subject=self.subject, id=self.id, time=self.time
        )

    def value(self, event_id: str | None = None) -> bytes:
        """`self.envelope().to_bytes()`, byte for byte; `event_id` is `str(self.id)` if the
        caller already has it."""
        if self.time.tzinfo is not UTC:
            # Only UTC is written the way pydantic writes it (`Z`); nothing here makes other
            # times, but if something ever does, the model decides.
            return self.envelope().to_bytes()
        # Keys in Envelope's field order: orjson keeps dict order, and so do the bytes.
        return orjson.dumps(
            {
                "specversion": "1.0",
                "id": event_id or str(self.id),
                "source": self.source,
                "type": self.data.TYPE,
                "time": self.time,
                "subject": self.subject,
                "datacontenttype": "application/json",
                "data": self.data.model_dump(mode="json"),
            },
            option=_ORJSON_OPTS,
        )

    def headers(self, trace: KafkaHeaders, event_id: str | None = None) -> KafkaHeaders:
        """What `paystream.shared.kafka.envelope_headers(self.envelope(), trace)` gives."""
        return [
            CLOUDEVENTS_CONTENT_TYPE,
            ("ce_type", self.data.TYPE.encode()),
            ("ce_id", (event_id or str(self.id)).encode()),
            *trace,
        ]
