"""Which events become grants, in which order: paid orders (checkout's OrderPaidV1) only."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from paystream.devtools.orders import order_paid
from paystream.ledger.consumers import grants_from
from paystream.shared.events import (
    Envelope,
    EventData,
    OrderPaidV1,
    PaymentFailedV1,
)
from paystream.shared.kafka import Consumed


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


def _paid(order: str, user: str, credits: int) -> OrderPaidV1:
    return order_paid(order, user, credits=credits, amount_minor=100)


def test_succeeded_payments_become_grants_in_record_order_others_are_ignored() -> None:
    failed = PaymentFailedV1(
        order_id="o9",
        user_id="u",
        provider="stripe",
        provider_event_id="evt_f",
        reason="card_declined",
        failed_at=datetime.now(UTC),
    )
    items = [
        _consumed(_paid("o1", "u", 100), 0),
        _consumed(failed, 1),
        _consumed(_paid("o2", "v", 0), 2),  # buys no credits: nothing to post
        _consumed(_paid("o3", "u", 5), 3),
    ]
    grants = grants_from(items)
    assert [(g.order_id, g.user_id, g.credits) for g in grants] == [
        ("o1", "u", 100),
        ("o3", "u", 5),
    ]
    assert grants[0].event_id == items[0].envelope.id
