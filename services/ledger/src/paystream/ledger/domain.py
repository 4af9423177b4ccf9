"""The ledger's model, free of I/O: accounts, balanced postings, grants, balance sequencing,
and what a refund revokes.

Double entry: every transaction moves credits between accounts with postings that sum to zero.
A grant moves credits from `system:issuance` to the user; a spend moves them from the user to
`system:consumption`; a revoke (credits revoked for a refund) moves them from the user to
`system:refunds`. So the sum of all balances is always zero, `-balance(system:issuance)` is every
credit ever granted and `balance(system:refunds)` every credit revoked.

Refund policy (see `assess_refund`): an order's refunds revoke its grant in proportion to the
money refunded, cumulatively, `due_total = floor(credits * refunded_total / paid)`, so partial
refunds never revoke more than the grant together and the refund that completes the payment
revokes exactly the rest. The balance never goes below zero: a refund revokes
`min(due, balance)` and the rest of what was due, already spent, is its `shortfall`, recorded and
reported, never a debt.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from paystream.shared.events import InvalidEvent

ISSUANCE = "system:issuance"
CONSUMPTION = "system:consumption"
REFUNDS = "system:refunds"
GRANT_REASON = "purchase"
REVOKE_REASON = "refund"


def user_account(user_id: str) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True, slots=True)
class Posting:
    account_id: str
    amount: int


def grant_postings(user_id: str, credits: int) -> tuple[Posting, Posting]:
    _require_positive(credits)
    return Posting(user_account(user_id), credits), Posting(ISSUANCE, -credits)


def spend_postings(user_id: str, credits: int) -> tuple[Posting, Posting]:
    _require_positive(credits)
    return Posting(user_account(user_id), -credits), Posting(CONSUMPTION, credits)


def revoke_postings(user_id: str, credits: int) -> tuple[Posting, Posting]:
    _require_positive(credits)
    return Posting(user_account(user_id), -credits), Posting(REFUNDS, credits)


def is_balanced(postings: Iterable[Posting]) -> bool:
    return sum(p.amount for p in postings) == 0


def balance_deltas(postings: Iterable[Posting]) -> dict[str, int]:
    """Net change per account of a set of postings (one balance update per account)."""
    deltas: dict[str, int] = {}
    for p in postings:
        deltas[p.account_id] = deltas.get(p.account_id, 0) + p.amount
    return deltas


@dataclass(frozen=True, slots=True)
class Grant:
    """Credits owed for one paid order, as announced by one payment event, with what was paid
    (what a later refund is measured against)."""

    event_id: uuid.UUID
    order_id: str
    user_id: str
    credits: int
    paid_minor: int
    paid_currency: str


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


def first_grant_per_order(grants: Iterable[Grant]) -> list[Grant]:
    """Keep the first grant of each order, in order: one payment often arrives as several
    provider events (Stripe: checkout.session.completed, then payment_intent.succeeded)."""
    seen: set[str] = set()
    out: list[Grant] = []
    for g in grants:
        if g.order_id not in seen:
            seen.add(g.order_id)
            out.append(g)
    return out


def sequence_balances(grants: Sequence[Grant], final_balances: Mapping[str, int]) -> list[int]:
    """The balance after each grant, given each user account's balance after all of them.

    Grants are applied in the given (record) order, so a user's last grant ends at the final
    balance and each earlier one at that minus the credits of the grants after it.
    """
    running = {user_account(g.user_id): final_balances[user_account(g.user_id)] for g in grants}
    after = [0] * len(grants)
    for i in range(len(grants) - 1, -1, -1):
        account = user_account(grants[i].user_id)
        after[i] = running[account]
        running[account] -= grants[i].credits
    return after


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
) -> Assessment:
    """What a refund of `amount_minor` revokes, given the order's earlier refunds.

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
    due = credits_due_for(credits, paid_minor, refunded_after) - due_before
    if due < 0:
        raise ValueError(f"earlier refunds owed {due_before}, more than the total due")
    revoked = min(due, max(balance, 0))
    return Assessment(due=due, revoked=revoked, shortfall=due - revoked)


def spend_fingerprint(credits: int, reason: str) -> str:
    """What makes two spend requests "the same" for an idempotency key."""
    canonical = orjson.dumps({"credits": credits, "reason": reason}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _require_positive(credits: int) -> None:
    if credits <= 0:
        raise ValueError(f"credits must be positive, got {credits}")
