"""What a verified notification means, in one vocabulary for every provider."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from paystream.notifications.outgoing import OutgoingEvent
from paystream.shared.events import (
    Envelope,
    PaymentFailedV1,
    PaymentMethodChangedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionStatusV1,
)

PaymentEvent = PaymentSucceededV1 | PaymentFailedV1
RefundEvent = RefundSucceededV1 | RefundFailedV1
SubscriptionEvent = SubscriptionInvoicePaidV1 | SubscriptionPaymentFailedV1 | SubscriptionStatusV1
_KEYED: Final = (
    PaymentSucceededV1,
    PaymentFailedV1,
    RefundSucceededV1,
    RefundFailedV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionStatusV1,
)


class Outcome(enum.StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    # Our order, but nothing to say yet (a bank transfer that settles later, a trade not paid).
    AWAITING_PAYMENT = "awaiting_payment"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    # A refund of ours that is not final yet: a later notification will say.
    REFUND_PENDING = "refund_pending"
    # A Stripe charge.refunded without `refunds.data` (API versions from 2022-11-15).
    REFUNDS_NOT_LISTED = "refunds_not_listed"
    # Money went back and nothing in the notification names the order (a dashboard refund).
    REFUND_UNATTRIBUTED = "refund_unattributed"
    # Money went back on a payment the notification names, but not its order: reported for
    # checkout to match by the payment reference (it lists what it cannot match).
    REFUND_REPORTED = "refund_reported"
    # Stripe Subscriptions: a subscription's invoice paid or not, its status changed.
    SUBSCRIPTION_INVOICE_PAID = "subscription_invoice_paid"
    SUBSCRIPTION_PAYMENT_FAILED = "subscription_payment_failed"
    SUBSCRIPTION_STATUS = "subscription_status"
    # Stripe: a customer's saved payment methods changed.
    PAYMENT_METHOD_CHANGED = "payment_method_changed"
    UNHANDLED_TYPE = "unhandled_type"
    NOT_OURS = "not_ours"
    # Names an order of ours but cannot be read (order facts, amount, currency, state).
    INVALID_METADATA = "invalid_metadata"


IGNORED: Final = frozenset(
    {
        Outcome.UNHANDLED_TYPE,
        Outcome.NOT_OURS,
        Outcome.INVALID_METADATA,
        Outcome.REFUND_UNATTRIBUTED,
    }
)
# Money may have moved that paystream did not record: kept in webhooks.raw, logged as an error.
NEEDS_OPERATOR: Final = frozenset({Outcome.INVALID_METADATA, Outcome.REFUND_UNATTRIBUTED})


@dataclass(frozen=True, slots=True)
class Normalized:
    """A notification's events for `payments.events`, with their envelope attributes, and what
    the pipeline reports about it."""

    event_id: str  # the provider's id of the notification
    event_type: str
    outcome: Outcome
    # A payment, a refund, or several (a Stripe charge.refunded lists refunds; an Alipay refund
    # repeats its payment first), in publishing order.
    events: tuple[OutgoingEvent, ...] = ()
    user_id: str | None = None  # known whenever the notification names a user, even if invalid
    order_id: str | None = None
    detail: str | None = None  # why no event (or not every event) was produced
    # The provider treats this outcome as noise although the vocabulary alone would not: WeChat
    # Pay announces no unpaid transaction, so one that is not final is ignored.
    ignore: bool = False

    @property
    def ignored(self) -> bool:
        """Not something paystream acts on (it is still kept in webhooks.raw)."""
        return self.ignore or (not self.events and self.outcome in IGNORED)

    @property
    def needs_operator(self) -> bool:
        return self.outcome in NEEDS_OPERATOR

    @property
    def payment(self) -> PaymentEvent | None:
        for ev in self.events:
            if isinstance(ev.data, PaymentSucceededV1 | PaymentFailedV1):
                return ev.data
        return None

    @property
    def refunds(self) -> tuple[RefundEvent, ...]:
        return tuple(
            ev.data for ev in self.events if isinstance(ev.data, RefundSucceededV1 | RefundFailedV1)
        )

    def payment_event(self) -> OutgoingEvent | None:
        for ev in self.events:
            if isinstance(ev.data, PaymentSucceededV1 | PaymentFailedV1):
                return ev
        return None

    def payment_envelope(self) -> Envelope | None:
        event = self.payment_event()
        return None if event is None else event.envelope()

    def keyed(self) -> list[tuple[str, OutgoingEvent]]:
        """The events with their Kafka key: the user id each names."""
        out: list[tuple[str, OutgoingEvent]] = []
        for ev in self.events:
            if isinstance(ev.data, RefundReportedV1):
                out.append((ev.data.kafka_key, ev))
                continue
            if isinstance(ev.data, PaymentMethodChangedV1):
                # Names no user: keyed by the customer (one user's), so its changes stay in order.
                out.append((ev.data.customer_id or ev.data.payment_method_id or "", ev))
                continue
            assert isinstance(ev.data, _KEYED), f"no user id on {type(ev.data).__name__}"
            out.append((ev.data.user_id, ev))
        return out

    def envelopes(self) -> tuple[Envelope, ...]:
        return tuple(ev.envelope() for ev in self.events)
