"""Payments held for an operator: what they are and what can be decided about them. Pure.

A review is opened by checkout when a payment does not match its order (see
`orders.domain.assess_payment`). `blocking` reviews hold their order in `needs_review` and
grant nothing until decided; the others (an overpayment granted as ordered, a second payment
for an order that has one, a payment for no order of ours) only ask for an operator's eye.

What an operator may decide, by kind (the README has the table):
- blocking (the order waits in needs_review): accept (grant as ordered, invoice what was paid)
  or refund (all that was paid);
- overpaid (the order is paid): accept (keep the difference), refund (the difference), dismiss;
- a payment for no order of ours: dismiss (refund it in the provider's dashboard; paystream
  follows that refund);
- a second payment for a paid order: dismiss, once the configured policy refunded or credited it
  (`second_payments`), or once an operator refunded it by its payment (`POST /v1/refunds` with
  `provider_payment_id`).

Every decision records who made it, when and why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ReviewStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REFUNDED = "refunded"
    DISMISSED = "dismissed"


class Decision(StrEnum):
    ACCEPT = "accept"
    REFUND = "refund"
    DISMISS = "dismiss"


@dataclass(frozen=True, slots=True)
class Review:
    id: uuid.UUID
    order_id: uuid.UUID | None
    user_id: str | None
    provider: str
    provider_payment_id: str | None
    provider_event_id: str
    event_id: uuid.UUID
    amount_minor: int
    currency: str
    reasons: tuple[str, ...]
    details: dict[str, Any]
    blocking: bool
    status: ReviewStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    refund_id: uuid.UUID | None
    created_at: datetime

    @property
    def overpaid(self) -> bool:
        return "overpaid" in self.reasons


def allowed(review: Review) -> frozenset[Decision]:
    """The decisions an operator may take on an open review."""
    if review.status is not ReviewStatus.OPEN:
        return frozenset()
    if review.blocking:
        return frozenset({Decision.ACCEPT, Decision.REFUND})
    if review.overpaid and review.order_id is not None:
        return frozenset({Decision.ACCEPT, Decision.REFUND, Decision.DISMISS})
    return frozenset({Decision.DISMISS})
