"""The record bytes of a notification's events are exactly what the shared Envelope would write:
consumers and replays parse them with `Envelope.from_bytes`, and the ids must not drift. (The
serializer itself is pinned in shared/tests/unit/test_shared_event_bytes.py; the Kafka headers
in webhook-ingest's test_webhook_ingest_publish.py.)"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from paystream.notifications.outgoing import OutgoingEvent
from paystream.notifications.providers.stripe.normalize import SOURCE, normalize, parse_event
from paystream.shared.events import (
    Envelope,
    PaymentFailedV1,
    PaymentSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
)

FIXTURES = Path(__file__).parent / "fixtures"
SESSION = json.loads((FIXTURES / "stripe_checkout_session.json").read_text())

# Bodies are kept verbatim inside a JSON string: escapes, control characters, non-ASCII and
# characters JSON encoders treat differently (`/`, U+2028, DEL) must come out the same.
AWKWARD_TEXT = 'a"b\\c/d\n\r\t\b\f\x00\x1f\x7f é 中文 \u2028\u2029 😀 </script>'

TIMES = [
    datetime(2025, 10, 9, 8, 0, 0, tzinfo=UTC),  # no fraction
    datetime(2025, 10, 9, 8, 0, 0, 120000, tzinfo=UTC),  # trailing zeros in the fraction
    datetime(2025, 10, 9, 8, 0, 0, 7, tzinfo=UTC),
    datetime.fromtimestamp(1_760_000_123.456789, UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def raw_event(body: str, at: datetime, content_type: str = "application/json") -> OutgoingEvent:
    return OutgoingEvent(
        WebhookReceivedV1(
            provider="stripe",
            provider_event_id="evt_1",
            provider_event_type="checkout.session.completed",
            content_type=content_type,
            body=body,
            received_at=at,
        ),
        source=SOURCE,
        id=deterministic_id("stripe", "evt_1", "raw"),
        time=at,
        subject="evt_1",
    )


def assert_same_as_envelope(ev: OutgoingEvent) -> None:
    env = ev.envelope()
    assert ev.value() == env.to_bytes()
    assert ev.value() == orjson.dumps(env.model_dump(mode="json"))


@pytest.mark.parametrize("at", TIMES)
def test_raw_record_bytes_are_the_envelope_bytes(at: datetime) -> None:
    body = orjson.dumps({"id": "evt_1", "data": {"object": {"note": AWKWARD_TEXT}}}).decode()
    assert_same_as_envelope(raw_event(body, at))
    assert_same_as_envelope(raw_event(AWKWARD_TEXT, at, content_type="text/plain; é"))
    assert_same_as_envelope(raw_event("", at))


@pytest.mark.parametrize("at", TIMES)
def test_payment_record_bytes_are_the_envelope_bytes(at: datetime) -> None:
    succeeded = PaymentSucceededV1(
        order_id="ord_42",
        user_id="user_é",
        package_id=None,
        credits=10**17,
        amount_minor=0,
        currency="CNY",
        provider="stripe",
        provider_event_id="evt_1",
        provider_payment_id=None,
        provider_session_id="cs_1",
        paid_at=at,
    )
    failed = PaymentFailedV1(
        order_id="ord_42",
        user_id="user_7",
        provider="stripe",
        provider_event_id="evt_1",
        reason=AWKWARD_TEXT,
        failed_at=at,
    )
    for data in (succeeded, failed):
        for subject in ("ord_42", None):
            ev = OutgoingEvent(data, source=SOURCE, id=uuid.uuid4(), time=at, subject=subject)
            assert_same_as_envelope(ev)
            assert Envelope.from_bytes(ev.value()).payload() == data


def test_normalized_payment_event_bytes_are_its_envelope_bytes() -> None:
    session = {
        **SESSION,
        "amount_total": 10000,
        "currency": "cny",
        "payment_status": "paid",
        "metadata": {"order_id": "ord_42", "user_id": "user_7", "credits": "1100"},
    }
    event_id = "evt_1SGyX2B7WZ01zgkW3hQdQ9aZ"
    doc = {
        "id": event_id,
        "object": "event",
        "created": 1_760_000_123,
        "type": "checkout.session.completed",
        "data": {"object": session},
    }
    n = normalize(parse_event(orjson.dumps(doc)), received_at=TIMES[0])
    ev = n.payment_event()
    assert ev is not None
    env = n.payment_envelope()
    assert env is not None
    assert ev.value() == env.to_bytes()
    assert ev.id == deterministic_id("stripe", event_id, "payment")
    assert (ev.source, ev.subject, ev.time) == (SOURCE, "ord_42", env.time)
    assert Envelope.from_bytes(ev.value()).payload() == n.payment


def test_a_time_outside_utc_is_written_by_the_model() -> None:
    # Nothing in the service makes such times; if something ever does, the bytes still match.
    for tz in (timezone(timedelta(hours=8)), timezone(timedelta(seconds=30)), None):
        at = datetime(2025, 10, 9, 8, 0, 0, tzinfo=tz)
        assert_same_as_envelope(raw_event("{}", at))
