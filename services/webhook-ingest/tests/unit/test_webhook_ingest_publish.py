"""The Kafka headers of every published record are the shared envelope headers (consumers read
`ce_type` / `ce_id`, and the trace context of the request)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from paystream.notifications.outgoing import OutgoingEvent
from paystream.shared.events import PaymentFailedV1, WebhookReceivedV1
from paystream.shared.kafka import envelope_headers
from paystream.webhook_ingest.publish import record_headers

TRACE = [("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
AT = datetime(2025, 10, 9, 8, 0, 0, tzinfo=UTC)


def test_record_headers_are_the_envelope_headers() -> None:
    raw = WebhookReceivedV1(
        provider="stripe",
        provider_event_id="evt_1",
        provider_event_type="checkout.session.completed",
        content_type="application/json",
        body="{}",
        received_at=AT,
    )
    failed = PaymentFailedV1(
        order_id="ord_42",
        user_id="user_7",
        provider="stripe",
        provider_event_id="evt_1",
        reason="x",
        failed_at=AT,
    )
    for data in (raw, failed):
        ev = OutgoingEvent(data, source="paystream/test", id=uuid.uuid4(), time=AT, subject=None)
        assert record_headers(ev, TRACE) == envelope_headers(ev.envelope(), TRACE)
        assert record_headers(ev, []) == envelope_headers(ev.envelope(), [])
