"""Refunds as checkout keeps them: their states, and what an order still has to give back.

    pending ──> succeeded | failed | manual    manual: USDT, paid out by hand
    manual ──> succeeded                       an operator confirmed the payout
    failed ──> succeeded                       the provider reported the money went back after all

A refund in `HOLDING` holds its amount: two admins refunding one order at once can never return
more than was paid.

A provider's report of a refund (`judge_report`) is applied with the refund's OWN amount, never
a cumulative total: Alipay's notification says only how much the trade has had refunded so far.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import orjson

from paystream.checkout.orders.domain import Order, OrderStatus
from paystream.checkout.second_payments.domain import SecondPayment
from paystream.shared.money import Money

# Only a paid order, one refunded in part, or one whose payment is held for review (refunding
# it is one of the operator's decisions) can be refunded.
REFUNDABLE = frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.NEEDS_REVIEW})


class RefundState(StrEnum):
    PENDING = "pending"
    MANUAL = "manual"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# These hold their amount: what is refundable is what was paid minus them.
HOLDING = frozenset({RefundState.PENDING, RefundState.MANUAL, RefundState.SUCCEEDED})


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    order_id: str
    user_id: str
    amount: Money
    reason: str
    status: RefundState
    provider: str
    provider_refund_id: str | None
    requested_by: str | None
    idempotency_key: str | None
    request_fingerprint: str | None
    failure_reason: str | None
    payout_reference: str | None
    created_at: datetime
    updated_at: datetime
    succeeded_at: datetime | None
    # The payment it returns when that is not the order's own: a second payment of the order
    # (second_payments). None: the order's payment.
    provider_payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class UnmatchedRefund:
    """Money a provider reported going back that checkout could not apply (no order matches its
    payment reference, or its own amount is not known): for an operator."""

    id: str
    provider: str
    provider_refund_id: str
    provider_payment_id: str | None
    order_ref: str | None  # as the report named it
    user_id: str | None
    amount: Money | None  # the refund's own amount, when reported
    refunded_total: Money | None  # the payment's cumulative refunded total, when reported
    reason: str
    refunded_at: datetime
    created_at: datetime
    resolved_at: datetime | None


def refundable(
    order: Order, refunds: list[Refund], *, payment: SecondPayment | None = None
) -> Money:
    """What can still be returned of one payment: what it took minus its refunds that hold or
    spent an amount. The order's own payment unless `payment` (a second one) is named; each is
    measured against its own amount and its own refunds."""
    paid = payment.amount if payment is not None else order.paid_amount() or order.amount
    pid = None if payment is None else payment.provider_payment_id
    held = sum(
        r.amount.minor for r in refunds if r.status in HOLDING and r.provider_payment_id == pid
    )
    return Money(max(paid.minor - held, 0), paid.currency)


def request_fingerprint(
    order_id: str, amount: Money | None, reason: str, *, provider_payment_id: str | None = None
) -> str:
    """What makes two refund requests "the same body" for an Idempotency-Key."""
    canonical = orjson.dumps(
        {
            "order_id": order_id,
            "amount": None if amount is None else [amount.minor, amount.currency],
            "reason": reason,
            # Only when named: the fingerprints of every other request stay what they were.
            **({"provider_payment_id": provider_payment_id} if provider_payment_id else {}),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


class ReportVerdict(StrEnum):
    APPLY = "apply"  # announce the refund as succeeded, with `amount`
    APPLIED = "applied"  # it already succeeded: the report changes nothing
    UNMATCHED = "unmatched"  # listed for an operator, with `reason`


@dataclass(frozen=True, slots=True)
class ReportDecision:
    verdict: ReportVerdict
    amount: Money | None = None
    reason: str | None = None


def judge_report(
    refund: Refund | None, *, currency: str, own: int | None, total: int | None
) -> ReportDecision:
    """What a provider's report of a refund means, given the refund checkout holds under that
    id (None: not one of ours). `own` is the refund's own amount when the provider says it,
    `total` the cumulative amount refunded on the payment when that is all it says.

    The amount announced is the refund's own, whatever arrived first: for one of ours, the
    amount checkout asked for (Alipay refunds exactly `refund_amount`); a cumulative total is
    never taken for a refund's amount, because which refunds came before it is not in the
    report. A report that contradicts the refund, or a refund of someone else's making with no
    amount of its own, is for an operator.
    """
    if refund is not None:
        if currency != refund.amount.currency:
            return _unmatched(f"reported in {currency}, the refund is in {refund.amount.currency}")
        if refund.status is RefundState.SUCCEEDED:
            return ReportDecision(ReportVerdict.APPLIED)
        if own is not None and own != refund.amount.minor:
            return _unmatched(
                f"the provider reports {Money(own, currency).format()}, paystream asked for "
                f"{refund.amount.format()}"
            )
        if total is not None and total < refund.amount.minor:
            return _unmatched(
                f"the provider's refunded total {Money(total, currency).format()} is less than "
                f"this refund's {refund.amount.format()}"
            )
        return ReportDecision(ReportVerdict.APPLY, refund.amount)
    if own is not None:
        return ReportDecision(ReportVerdict.APPLY, Money(own, currency))
    assert total is not None, "a report carries its own amount or the cumulative total"
    return _unmatched(
        f"a refund paystream did not make, reported only as the payment's refunded total "
        f"({Money(total, currency).format()} {currency}): its own amount is not known"
    )


def _unmatched(reason: str) -> ReportDecision:
    return ReportDecision(ReportVerdict.UNMATCHED, reason=reason)
