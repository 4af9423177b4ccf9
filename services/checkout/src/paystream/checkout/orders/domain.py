"""Orders and their state machine: pure domain logic, no I/O.

    pending ──> paid | failed | cancelled | expired
    failed ──> paid                  a card retried on the same session succeeded
    cancelled | expired ──> paid     money was taken: it is never ignored, it is recorded
    paid ──> refunded | partially_refunded
    partially_refunded ──> refunded | partially_refunded

Anything else is refused. Moving to the status the order already has is a no-op, so a
redelivered or duplicated provider event changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from paystream.shared.money import Money


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED}),
    S.FAILED: frozenset({S.PAID}),
    S.CANCELLED: frozenset({S.PAID}),
    S.EXPIRED: frozenset({S.PAID}),
    S.PAID: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    # A second partial refund keeps the status (same-status rule below); a final one completes it.
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"an order cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return current == target or target in TRANSITIONS[current]


def check_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """True when the order moves to `target`; False when it is already there (a no-op).

    Raises IllegalTransition when the state machine refuses the move.
    """
    if current == target:
        return False
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return True


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    package_id: str
    credits: int
    amount: Money
    payment_method: str
    status: OrderStatus
    return_url: str | None
    idempotency_key: str | None
    request_fingerprint: str | None
    provider_session_id: str | None
    payment_url: str | None
    provider_payment_id: str | None
    # What the provider reported as taken: kept raw, it may not match (see amount_mismatch).
    paid_amount_minor: int | None
    paid_currency: str | None
    amount_mismatch: bool
    failure_reason: str | None
    expires_at: datetime
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # What the frontend shows (see PaymentInstructions); None until the provider answered.
    provider: str | None = None
    client_secret: str | None = None
    qr_code: str | None = None
    deposit_address: str | None = None
    deposit_amount: Money | None = None
    payment_method_types: tuple[str, ...] = ()
    refunded_minor: int = 0

    def paid_amount(self) -> Money | None:
        if self.paid_amount_minor is None or self.paid_currency is None:
            return None
        return Money(self.paid_amount_minor, self.paid_currency)


def parse_id(value: str) -> uuid.UUID | None:
    """An order's (or a refund's) id from a request or an event; None when it is not a UUID, so
    a malformed id is answered like an unknown one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def status_after_refunds(paid_minor: int, refunded_minor: int) -> OrderStatus:
    """What a paid order is once `refunded_minor` of its `paid_minor` went back."""
    return OrderStatus.REFUNDED if refunded_minor >= paid_minor else OrderStatus.PARTIALLY_REFUNDED
