"""Refunds as checkout keeps them: their states, and what an order still has to give back.

    pending ──> succeeded | failed | manual    manual: USDT, paid out by hand
    manual ──> succeeded                       an operator confirmed the payout
    failed ──> succeeded                       the provider reported the money went back after all

A refund in `HOLDING` holds its amount: two admins refunding one order at once can never return
more than was paid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import orjson

from paystream.checkout.orders.domain import Order, OrderStatus
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


def refundable(order: Order, refunds: list[Refund]) -> Money:
    """What can still be returned: what was taken minus refunds that hold or spent an amount."""
    paid = order.paid_amount() or order.amount
    held = sum(r.amount.minor for r in refunds if r.status in HOLDING)
    return Money(max(paid.minor - held, 0), paid.currency)


def request_fingerprint(order_id: str, amount: Money | None, reason: str) -> str:
    """What makes two refund requests "the same body" for an Idempotency-Key."""
    canonical = orjson.dumps(
        {
            "order_id": order_id,
            "amount": None if amount is None else [amount.minor, amount.currency],
            "reason": reason,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()
