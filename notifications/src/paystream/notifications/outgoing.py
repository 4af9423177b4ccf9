"""An event a notification means, with its envelope attributes, before it is written."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from paystream.shared.events import Envelope, EventData, encode_envelope


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """A typed payload and the envelope attributes derived from the notification (never from
    the clock), so that reprocessing writes the same bytes."""

    data: EventData
    source: str
    id: uuid.UUID
    time: datetime
    subject: str | None

    def envelope(self) -> Envelope:
        return Envelope.wrap(
            self.data, source=self.source, subject=self.subject, id=self.id, time=self.time
        )

    def value(self) -> bytes:
        """`self.envelope().to_bytes()`, byte for byte, without building the envelope."""
        return encode_envelope(
            self.data, source=self.source, id=self.id, time=self.time, subject=self.subject
        )
