"""Which events of a batch become grants and refunds for the ledger, in record order."""

from __future__ import annotations

from datetime import UTC, datetime

from paystream.devtools.records import consumed
from paystream.ledger.consumers import inputs_from
from paystream.ledger.lots.service import OrderGrant
from paystream.ledger.refunds.domain import Refund
from paystream.shared.events import (
    Envelope,
    EventData,
    GrantSpec,
    InvoiceLine,
    OrderPaidV1,
    RefundFailedV1,
    RefundSucceededV1,
)
from paystream.shared.kafka import Consumed

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _consumed(data: EventData, offset: int) -> Consumed:
    return consumed(Envelope.wrap(data, source="test"), offset=offset, key=b"u")


def test_paid_orders_and_refunds_keep_their_record_order_failed_refunds_are_ignored() -> None:
    paid = OrderPaidV1(
        order_id="o1",
        user_id="u",
        grants=[GrantSpec(quantity=1100, cost_minor=10_000)],
        lines=[
            InvoiceLine(
                description="standard", quantity=1, unit_amount_minor=10_000, amount_minor=10_000
            )
        ],
        amount_minor=10_000,
        currency="CNY",
        paid_minor=10_000,
        paid_currency="CNY",
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
    events = inputs_from(items)
    assert [type(e) for e in events] == [Refund, OrderGrant]
    refund, grant = events
    assert isinstance(refund, Refund)
    assert isinstance(grant, OrderGrant)
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
