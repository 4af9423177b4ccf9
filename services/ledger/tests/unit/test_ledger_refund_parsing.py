"""Which events of a batch become grants and refunds for the ledger, in record order."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from paystream.devtools.orders import order_paid
from paystream.ledger.consumers import ledger_events_from
from paystream.ledger.domain import Grant, Refund
from paystream.shared.events import (
    Envelope,
    EventData,
    RefundFailedV1,
    RefundSucceededV1,
)
from paystream.shared.kafka import Consumed

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _consumed(data: EventData, offset: int) -> Consumed:
    env = Envelope.wrap(data, source="test")
    rec: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic="payments.events",
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"u",
        value=env.to_bytes(),
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=0,
        headers=[],
    )
    return Consumed(rec, env)


def test_payments_and_refunds_keep_their_record_order_failed_refunds_are_ignored() -> None:
    paid = order_paid(
        "o1",
        "u",
        credits=1100,
        amount_minor=10_000,
        provider="alipay",
        payment_method="alipay_qr",
        provider_event_id="t1",
        paid_at=NOW,
    )
    refunded = RefundSucceededV1(
        order_id="o1",
        user_id="u",
        refund_id="rf1",
        provider="alipay",
        provider_refund_id="rf1",
        amount_minor=2_500,
        currency="CNY",
        refunded_at=NOW,
    )
    failed = RefundFailedV1(
        order_id="o1",
        user_id="u",
        provider="alipay",
        provider_refund_id="rf2",
        amount_minor=1,
        currency="CNY",
        reason="closed",
        failed_at=NOW,
    )
    items = [_consumed(refunded, 0), _consumed(failed, 1), _consumed(paid, 2)]
    events = ledger_events_from(items)
    assert [type(e) for e in events] == [Refund, Grant]
    refund, grant = events
    assert isinstance(refund, Refund)
    assert isinstance(grant, Grant)
    assert (refund.refund_key, refund.amount_minor, refund.event_id) == (
        "alipay:rf1",
        2_500,
        items[0].envelope.id,
    )
    assert (grant.order_id, grant.credits, grant.paid_minor, grant.paid_currency) == (
        "o1",
        1100,
        10_000,
        "CNY",
    )
