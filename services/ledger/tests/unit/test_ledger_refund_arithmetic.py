"""What a refund revokes: proportional, cumulative, never below zero, refused when it cannot
apply."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime

import pytest

from paystream.ledger.books.domain import REFUNDS, Tx, is_balanced, user_account
from paystream.ledger.refunds.domain import (
    Assessment,
    RefundRefused,
    assess_refund,
    credits_due_for,
)
from paystream.shared.events import InvalidEvent


def _refund_in_parts(
    credits: int, paid: int, parts: list[int], balance: int | None = None
) -> list[Assessment]:
    """Apply `parts` one after another the way the ledger does, with a balance (default: the
    grant, untouched) reduced by what each revokes."""
    bal = credits if balance is None else balance
    refunded = due = 0
    out = []
    for amount in parts:
        a = assess_refund(
            credits=credits,
            paid_minor=paid,
            paid_currency="CNY",
            refunded_before_minor=refunded,
            due_before=due,
            amount_minor=amount,
            currency="CNY",
            balance=bal,
        )
        refunded += amount
        due += a.due
        bal -= a.revoked
        out.append(a)
    return out


def test_due_is_proportional_rounded_down_and_whole_at_full_refund() -> None:
    assert credits_due_for(1100, 10_000, 0) == 0
    assert credits_due_for(1100, 10_000, 5_000) == 550
    assert credits_due_for(1100, 10_000, 1) == 0  # 0.11 credit: not a whole one refunded
    assert credits_due_for(1100, 10_000, 9_999) == 1099  # 1099.89 rounds down
    assert credits_due_for(1100, 10_000, 10_000) == 1100
    assert credits_due_for(7, 3, 1) == 2  # 2.33
    assert credits_due_for(7, 3, 2) == 4  # 4.67
    assert credits_due_for(7, 0, 0) == 7  # a free grant "fully refunded" by nothing
    with pytest.raises(ValueError, match="outside"):
        credits_due_for(7, 3, 4)


def test_a_full_refund_revokes_exactly_the_grant() -> None:
    [a] = _refund_in_parts(1100, 10_000, [10_000])
    assert a == Assessment(due=1100, revoked=1100, shortfall=0)


def test_three_thirds_sum_to_the_grant_exactly() -> None:
    # 100 credits for 3.00: thirds of 1.00 owe 33.33.. each; rounding down per cumulative total
    # gives 33, 33, 34, never 33 * 3 = 99.
    parts = _refund_in_parts(100, 300, [100, 100, 100])
    assert [a.due for a in parts] == [33, 33, 34]
    assert sum(a.revoked for a in parts) == 100


def test_any_split_of_the_payment_revokes_exactly_the_grant() -> None:
    rng = random.Random(20261201)
    for _ in range(500):
        credits = rng.randint(1, 100_000)
        paid = rng.randint(1, 1_000_000)
        cuts = sorted(rng.sample(range(1, paid), min(paid - 1, rng.randint(0, 8))))
        parts = [b - a for a, b in itertools.pairwise([0, *cuts, paid])]
        assessed = _refund_in_parts(credits, paid, parts)
        assert sum(a.due for a in assessed) == credits
        assert sum(a.revoked for a in assessed) == credits
        # Never ahead of the money: after each part, no more than its proportional share.
        refunded = revoked = 0
        for amount, a in zip(parts, assessed, strict=True):
            refunded += amount
            revoked += a.revoked
            assert revoked * paid <= credits * refunded


def test_partial_refunds_that_stop_short_never_revoke_the_whole_grant() -> None:
    parts = _refund_in_parts(1100, 10_000, [2_500, 2_500])
    assert [a.due for a in parts] == [275, 275]


def test_spent_credits_become_a_shortfall_and_the_balance_never_goes_below_zero() -> None:
    # 1100 granted, 1000 already spent: a full refund revokes the 100 left.
    [a] = _refund_in_parts(1100, 10_000, [10_000], balance=100)
    assert a == Assessment(due=1100, revoked=100, shortfall=1000)
    # Nothing left at all: everything due is shortfall.
    [b] = _refund_in_parts(1100, 10_000, [5_000], balance=0)
    assert b == Assessment(due=550, revoked=0, shortfall=550)


def test_a_shortfall_is_not_carried_to_the_next_partial_refund() -> None:
    # First half meets an empty balance, second half finds 1000 credits (bought since): it revokes
    # its own share only; the first shortfall stays recorded, not collected later.
    first = assess_refund(
        credits=1100,
        paid_minor=10_000,
        paid_currency="CNY",
        refunded_before_minor=0,
        due_before=0,
        amount_minor=5_000,
        currency="CNY",
        balance=0,
    )
    second = assess_refund(
        credits=1100,
        paid_minor=10_000,
        paid_currency="CNY",
        refunded_before_minor=5_000,
        due_before=first.due,
        amount_minor=5_000,
        currency="CNY",
        balance=1000,
    )
    assert (first, second) == (
        Assessment(due=550, revoked=0, shortfall=550),
        Assessment(due=550, revoked=550, shortfall=0),
    )


@pytest.mark.parametrize(
    ("currency", "refunded_before", "amount"),
    [
        ("USD", 0, 100),  # not the payment's currency: refused, never converted
        ("CNY", 0, 10_001),  # more than was paid
        ("CNY", 9_000, 1_001),  # more than was paid, together with the earlier refunds
    ],
)
def test_refunds_that_cannot_apply_are_invalid_events(
    currency: str, refunded_before: int, amount: int
) -> None:
    with pytest.raises(RefundRefused) as exc:
        assess_refund(
            credits=1100,
            paid_minor=10_000,
            paid_currency="CNY",
            refunded_before_minor=refunded_before,
            due_before=credits_due_for(1100, 10_000, refunded_before),
            amount_minor=amount,
            currency=currency,
            balance=1100,
        )
    # An InvalidEvent: the consumer dead-letters it at once instead of retrying.
    assert isinstance(exc.value, InvalidEvent)


def test_revoke_postings_move_credits_from_the_user_to_system_refunds() -> None:
    def revoke(credits: int) -> Tx:
        return Tx(
            id=uuid.uuid4(),
            kind="revoke",
            user_id="alice",
            unit="credits",
            credits=credits,
            balance_after=0,
            at=datetime(2026, 1, 1, tzinfo=UTC),
            reason="refund",
        )

    postings = revoke(40).postings()
    assert is_balanced(postings)
    assert [(p.account_id, p.amount) for p in postings] == [
        (user_account("alice"), -40),
        (REFUNDS, 40),
    ]
    with pytest.raises(ValueError, match="positive"):
        revoke(0)


def test_an_overpaid_orders_refunds_return_the_difference_first_and_it_revokes_nothing() -> None:
    # 100 credits ordered for 10.00, 15.00 paid and accepted as an overpayment: refunding the
    # 5.00 difference takes no credit back; the next 5.00 (half the order) takes 50; the last
    # 5.00 the rest. invoicing's credit notes measure the same way.
    def refund(before: int, due_before: int, amount: int) -> Assessment:
        return assess_refund(
            credits=100,
            paid_minor=1500,
            paid_currency="CNY",
            ordered_minor=1000,
            refunded_before_minor=before,
            due_before=due_before,
            amount_minor=amount,
            currency="CNY",
            balance=100,
        )

    assert refund(0, 0, 500).due == 0
    assert refund(500, 0, 500).due == 50
    assert refund(1000, 50, 500).due == 50
    # All at once: everything.
    assert refund(0, 0, 1500).due == 100
    # Part of the difference and part of the order: only the order's part counts.
    assert refund(0, 0, 700).due == 20
    # Without the order's cost (or with a cost not below the payment) the payment is the base.
    plain = assess_refund(
        credits=100,
        paid_minor=1500,
        paid_currency="CNY",
        refunded_before_minor=0,
        due_before=0,
        amount_minor=500,
        currency="CNY",
        balance=100,
    )
    assert plain.due == 33
