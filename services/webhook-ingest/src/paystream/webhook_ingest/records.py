"""The events webhook-ingest publishes (pure: no I/O, no clock): written by the shared
`encode_envelope`, the same bytes as the envelope model without building it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from paystream.shared.events import Envelope, EventData, encode_envelope

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
        """`self.envelope().to_bytes()`, byte for byte, without building the envelope."""
        return encode_envelope(
            self.data, source=self.source, id=self.id, time=self.time, subject=self.subject
        )

    def headers(self, trace: KafkaHeaders, event_id: str | None = None) -> KafkaHeaders:
        """What `paystream.shared.kafka.envelope_headers(self.envelope(), trace)` gives."""
        return [
            ("ce_type", self.data.TYPE.encode()),
            ("ce_id", (event_id or str(self.id)).encode()),
            *trace,
        ]
