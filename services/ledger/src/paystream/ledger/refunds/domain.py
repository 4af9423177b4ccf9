"""Refunds, free of I/O: what a refund of an order's payment revokes.

An order's refunds revoke its grant in proportion to the money refunded, cumulatively,
`due_total = floor(credits * refunded_total / paid)`, so partial refunds never revoke more than
the grant together and the refund that completes the payment revokes exactly the rest. The
balance never goes below zero: a refund revokes `min(due, available)` and the rest of what was
due, already spent (or expired), is its `shortfall`, recorded and reported, never a debt. Which
lots the revoked credits come from is `lots.domain.take_back`: the order's own lots first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from paystream.shared.events import InvalidEvent


@dataclass(frozen=True, slots=True)
class Refund:
    """Money returned for (part of) an order's payment, as announced by one refund event."""

    event_id: uuid.UUID
    refund_key: str
    order_id: str
    user_id: str
    refund_id: str | None
    provider: str
    provider_refund_id: str
    amount_minor: int
    currency: str
    reason: str | None
    refunded_at: datetime
    # The payment it returns, when the event named one (RefundSucceededV1.provider_payment_id).
    provider_payment_id: str | None = None


class RefundRefused(InvalidEvent):
    """A refund that can never be applied to its order's grant as it is (other currency, more
    than was paid, another user): an operator must look, so it is dead-lettered, not retried."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one refund revokes. `due = revoked + shortfall` (the refunds table and API call the
    revoked part `credits_taken`)."""

    due: int
    revoked: int
    shortfall: int


def credits_due_for(credits: int, paid_minor: int, refunded_minor: int) -> int:
    """The credits an order's refunds owe back in total once `refunded_minor` of its `paid_minor`
    was refunded: floor(credits * refunded / paid).

    Rounded down so a partial refund never revokes a credit that was not fully refunded; as the
    total refunded reaches what was paid, it reaches the whole grant, so the last refund revokes
    the remainders the earlier ones left. Exact integer arithmetic, no float.
    """
    if not 0 <= refunded_minor <= paid_minor:
        raise ValueError(f"refunded {refunded_minor} outside 0..{paid_minor}")
    if refunded_minor == paid_minor:
        return credits  # also covers a free grant (paid 0) refunded by 0
    return credits * refunded_minor // paid_minor


def assess_refund(
    *,
    credits: int,
    paid_minor: int,
    paid_currency: str,
    refunded_before_minor: int,
    due_before: int,
    amount_minor: int,
    currency: str,
    balance: int,
    ordered_minor: int | None = None,
) -> Assessment:
    """What a refund of `amount_minor` revokes, given the order's earlier refunds.

    When more was paid than the order cost (`ordered_minor`, an overpayment checkout accepted),
    refunds return the difference first, and that revokes nothing; the rest is measured against
    the order's cost, as invoicing's credit notes are. Otherwise against what was paid.

    Cumulative: this refund owes `due_total(after) - due_before`, where `due_before` is what the
    earlier refunds owed (revoked or shortfall), so however a payment is refunded in parts the
    dues add up to exactly `credits`. The balance never goes below zero: `revoked = min(due,
    balance)`, the rest is the shortfall (already spent).
    """
    if currency != paid_currency:
        raise RefundRefused(
            f"refund in {currency} for a payment in {paid_currency}: refused, not converted"
        )
    refunded_after = refunded_before_minor + amount_minor
    if amount_minor <= 0 or refunded_after > paid_minor:
        raise RefundRefused(
            f"refunds of {refunded_after} {currency} exceed the {paid_minor} {currency} paid"
        )
    base = paid_minor if ordered_minor is None else min(paid_minor, ordered_minor)
    excess = paid_minor - base
    due_after = credits_due_for(credits, base, min(max(refunded_after - excess, 0), base))
    due = due_after - due_before
    if due < 0:
        raise ValueError(f"earlier refunds owed {due_before}, more than the total due")
    revoked = min(due, max(balance, 0))
    return Assessment(due=due, revoked=revoked, shortfall=due - revoked)
