"""Second payments: a payment the provider took for an order that already had one. Pure.

A payer can pay one order twice (two browser tabs on one Checkout Session's order, a second
PaymentIntent, a QR code scanned twice). The order keeps its first payment, which OrderPaidV1
announced; the second is kept beside it and handled by the configured policy
(`PAYSTREAM_SECOND_PAYMENT_POLICY`):

- `refund` (the default): checkout refunds it in full through the provider, measured against
  that payment, under a refund id derived from the payment, so a replayed notification never
  refunds twice;
- `credit`: it buys the same content again as a new order of its own (its own OrderPaidV1 and
  invoice), which is what the ledger and invoicing can account for honestly; only when it paid
  exactly the order's price and the order is not a plan's (a second period of a subscription
  is not the subscription's to take);
- `review`: it is only held for an operator, as before.

Whatever the policy, an operator's review records that it happened.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from paystream.checkout.orders.domain import Order
from paystream.shared.events import PaymentSucceededV1, deterministic_id
from paystream.shared.money import CURRENCY_EXPONENTS, Money


class SecondPaymentPolicy(StrEnum):
    REFUND = "refund"
    CREDIT = "credit"
    REVIEW = "review"


# What checkout does with one second payment (the policy, or review when it cannot apply).
Action = SecondPaymentPolicy

# Orders of plans: their subscription takes them in (orders.service.PLAN_KINDS).
_PLAN_KINDS = frozenset({"subscription", "renewal", "upgrade", "allowance"})


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    # Why the policy's action was not taken (None when it was).
    reason: str | None = None


def decide(policy: SecondPaymentPolicy, order: Order, event: PaymentSucceededV1) -> Decision:
    """What to do with `event`, a second payment for `order`, under `policy`."""
    currency = event.currency.upper()
    if currency not in CURRENCY_EXPONENTS:
        # Nothing can be refunded or granted in a currency paystream does not know.
        return Decision(Action.REVIEW, f"paid in {currency}, a currency paystream does not know")
    if event.amount_minor == 0:
        return Decision(Action.REVIEW, "nothing was taken: nothing to refund or grant")
    if policy is SecondPaymentPolicy.REFUND and not refundable_apart(
        order, event.provider, event.provider_session_id
    ):
        return Decision(Action.REVIEW, AMBIGUOUS_REFUND)
    if policy is SecondPaymentPolicy.CREDIT:
        if order.kind in _PLAN_KINDS:
            return Decision(Action.REVIEW, "a plan's order is not bought twice: for an operator")
        if Money(event.amount_minor, currency) != order.amount:
            return Decision(
                Action.REVIEW,
                f"paid {Money(event.amount_minor, currency).format()} {currency}, the order costs"
                f" {order.amount.format()} {order.amount.currency}: not the same purchase",
            )
    return Decision(policy)


# Alipay and WeChat Pay refunds name the trade by our out_trade_no (the session id).
_REFUND_BY_SESSION = frozenset({"alipay", "wechatpay"})

AMBIGUOUS_REFUND = (
    "the provider refunds by the order's trade number, which names the order's first payment"
    " too: refund it at the provider"
)


def refundable_apart(order: Order, provider: str, session_id: str | None) -> bool:
    """Whether a refund of a second payment can name that payment alone at the provider. Stripe
    refunds name the PaymentIntent; Alipay and WeChat Pay the trade number, and a second
    payment under the order's own trade number cannot be told from the first there."""
    if provider not in _REFUND_BY_SESSION:
        return True
    return session_id is not None and session_id != order.provider_session_id


def refund_id_for(provider: str, provider_payment_id: str) -> uuid.UUID:
    """The refund of a second payment: one id per payment, so every replay of its notification
    (and every process) opens, and asks the provider for, the same one refund."""
    return deterministic_id("second_payment.refund", provider, provider_payment_id)


def credit_key_for(provider: str, provider_payment_id: str) -> str:
    """The Idempotency-Key of the order a credited second payment pays."""
    return f"second-payment:{provider}:{provider_payment_id}"


@dataclass(frozen=True, slots=True)
class SecondPayment:
    id: str
    order_id: str
    user_id: str
    provider: str
    provider_payment_id: str
    provider_session_id: str | None
    provider_event_id: str
    amount: Money
    paid_at: datetime
    action: Action
    action_reason: str | None
    refund_id: str | None
    credited_order_id: str | None
    created_at: datetime
