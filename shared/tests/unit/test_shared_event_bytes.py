"""One way to write an event: `Envelope.to_bytes()` and `encode_envelope(...)` give exactly the
bytes of the model's own JSON dump, `orjson.dumps(Envelope.wrap(...).model_dump(mode="json"))`.
Consumers, replays and inboxes read these bytes; they must not drift."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from paystream.shared.events import (
    Envelope,
    EventData,
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundSucceededV1,
    WebhookReceivedV1,
    encode_envelope,
)

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
    # Not what producers make, but what the model accepts: the bytes must still match.
    datetime(2025, 10, 9, 8, 0, 0, tzinfo=timezone(timedelta(hours=8))),
    datetime(2025, 10, 9, 8, 0, 0, tzinfo=timezone(timedelta(seconds=30))),
    datetime(2025, 10, 9, 8, 0, 0, tzinfo=timezone(timedelta(0))),
    datetime(2025, 10, 9, 8, 0, 0),  # noqa: DTZ001 (naive on purpose)
]


def model_bytes(env: Envelope) -> bytes:
    return orjson.dumps(env.model_dump(mode="json"))


def payloads(at: datetime) -> list[EventData]:
    return [
        WebhookReceivedV1(
            provider="stripe",
            provider_event_id="evt_1",
            provider_event_type="checkout.session.completed",
            content_type="text/plain; é",
            body=orjson.dumps({"id": "evt_1", "note": AWKWARD_TEXT}).decode() + AWKWARD_TEXT,
            received_at=at,
        ),
        WebhookReceivedV1(
            provider="alipay",
            provider_event_id="n",
            provider_event_type="trade.TRADE_SUCCESS",
            content_type="application/x-www-form-urlencoded",
            body="",
            received_at=at,
        ),
        PaymentSucceededV1(
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
        ),
        PaymentFailedV1(
            order_id="ord_42",
            user_id="user_7",
            provider="wechatpay",
            provider_event_id="evt_1",
            reason=AWKWARD_TEXT,
            failed_at=at,
        ),
        RefundSucceededV1(
            order_id="ord_42",
            user_id="u",
            provider="alipay",
            provider_refund_id="r",
            amount_minor=1,
            currency="USDT",
            refunded_at=at,
        ),
    ]


@pytest.mark.parametrize("at", TIMES)
def test_encode_envelope_writes_the_models_bytes(at: datetime) -> None:
    for data in payloads(at):
        for subject in ("ord_42", None):
            event_id = uuid.uuid4()
            env = Envelope.wrap(data, source="s", subject=subject, id=event_id, time=at)
            written = encode_envelope(data, source="s", subject=subject, id=event_id, time=at)
            assert written == model_bytes(env)
            assert written == env.to_bytes()
            if at.tzinfo is UTC:  # (the model itself drops a sub-minute offset)
                assert Envelope.from_bytes(written).payload() == data


@pytest.mark.parametrize("at", TIMES)
def test_to_bytes_is_the_models_dump_for_parsed_envelopes_too(at: datetime) -> None:
    for data in payloads(at):
        env = Envelope.from_bytes(Envelope.wrap(data, source="s", time=at).to_bytes())
        # A parsed time carries pydantic's own UTC tzinfo, not datetime.UTC.
        assert env.to_bytes() == model_bytes(env)


def test_to_bytes_writes_hand_made_data_as_the_model_would() -> None:
    env = Envelope(
        id=uuid.uuid4(),
        source="s",
        type="x.v1",
        time=TIMES[1],
        data={"amount": Decimal("1.50"), "at": TIMES[3], "id": uuid.UUID(int=7), "n": [1, None]},
    )
    assert env.to_bytes() == model_bytes(env)
