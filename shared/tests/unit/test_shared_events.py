import uuid
from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from paystream.shared.events import (
    Envelope,
    InvalidEvent,
    PaymentFailedV1,
    PaymentSucceededV1,
    UnknownEventType,
    deterministic_id,
)


def _payment() -> PaymentSucceededV1:
    return PaymentSucceededV1(
        order_id="ord_1",
        user_id="u1",
        package_id="standard",
        credits=1100,
        amount_minor=10000,
        currency="CNY",
        provider="stripe",
        provider_event_id="evt_1",
        provider_payment_id="pi_1",
        provider_session_id="cs_1",
        paid_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
    )


def test_envelope_round_trips_through_bytes_with_cloudevents_attributes() -> None:
    env = Envelope.wrap(_payment(), source="paystream/test", subject="ord_1")
    raw = env.to_bytes()
    obj = orjson.loads(raw)
    assert obj["specversion"] == "1.0"
    assert obj["type"] == "paystream.payment.succeeded.v1"
    assert set(obj) >= {"id", "source", "type", "time", "subject", "data"}
    back = Envelope.from_bytes(raw)
    assert back == env
    assert back.payload() == _payment()
    assert back.payload_as(PaymentSucceededV1).amount().format() == "100.00"


def test_payload_as_refuses_another_type() -> None:
    env = Envelope.wrap(_payment(), source="t")
    with pytest.raises(UnknownEventType):
        env.payload_as(PaymentFailedV1)


def test_unknown_type_and_bad_bytes_are_invalid_events() -> None:
    env = Envelope(
        id=uuid.uuid4(), source="t", type="paystream.nope.v9", time=datetime.now(UTC), data={}
    )
    with pytest.raises(UnknownEventType):
        env.payload()
    with pytest.raises(InvalidEvent):
        Envelope.from_bytes(b"{not json")
    with pytest.raises(InvalidEvent):
        Envelope.from_bytes(b'{"id": "x"}')


def test_payload_validation_refuses_negative_credits_and_extra_fields() -> None:
    data = _payment().model_dump()
    with pytest.raises(ValidationError):
        PaymentSucceededV1.model_validate({**data, "credits": -1})
    with pytest.raises(ValidationError):
        PaymentSucceededV1.model_validate({**data, "surprise": 1})


def test_deterministic_ids_are_stable_and_distinct() -> None:
    a = deterministic_id("stripe", "evt_1", "payment")
    assert a == deterministic_id("stripe", "evt_1", "payment")
    assert a != deterministic_id("stripe", "evt_1", "raw")
    assert a != deterministic_id("stripe", "evt_2", "payment")


def test_payment_event_id_is_the_notifications_derivation() -> None:
    # Webhook-ingest's Alipay / WeChat Pay normalizers, the USDT watcher and checkout's sync all
    # call it: one payment announced by any of them is one envelope id.
    from paystream.shared.events import deterministic_id, payment_event_id

    assert payment_event_id("payment", "alipay", "2026") == deterministic_id(
        "alipay", "2026", "payment"
    )
    assert payment_event_id("payment.failed", "wechatpay", "42") == deterministic_id(
        "wechatpay", "42", "payment.failed"
    )
    assert payment_event_id("payment", "alipay", "1") != payment_event_id(
        "payment.failed", "alipay", "1"
    )
