"""The order state machine, every pair of statuses."""

from __future__ import annotations

import itertools

import pytest

from paystream.checkout.orders.domain import (
    IllegalTransition,
    OrderStatus,
    can_transition,
    check_transition,
)

S = OrderStatus

ALLOWED = {
    (S.PENDING, S.PAID),
    (S.PENDING, S.FAILED),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.EXPIRED),
    (S.FAILED, S.PAID),
    (S.CANCELLED, S.PAID),
    (S.EXPIRED, S.PAID),
    (S.PAID, S.REFUNDED),
    (S.PAID, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, S.REFUNDED),
    # A payment the order does not account for is held; an operator accepts or refunds it.
    (S.PENDING, S.NEEDS_REVIEW),
    (S.FAILED, S.NEEDS_REVIEW),
    (S.CANCELLED, S.NEEDS_REVIEW),
    (S.EXPIRED, S.NEEDS_REVIEW),
    (S.NEEDS_REVIEW, S.PAID),
    (S.NEEDS_REVIEW, S.REFUNDED),
    (S.NEEDS_REVIEW, S.PARTIALLY_REFUNDED),
}


def test_statuses_are_the_api_strings() -> None:
    assert [s.value for s in S] == [
        "pending",
        "paid",
        "failed",
        "cancelled",
        "expired",
        "refunded",
        "partially_refunded",
        "needs_review",
    ]


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transitions_move(current: OrderStatus, target: OrderStatus) -> None:
    assert check_transition(current, target) is True
    assert can_transition(current, target)


@pytest.mark.parametrize("status", list(S))
def test_same_status_is_an_idempotent_no_op(status: OrderStatus) -> None:
    assert check_transition(status, status) is False
    assert can_transition(status, status)


REFUSED = [(a, b) for a, b in itertools.product(S, S) if a != b and (a, b) not in ALLOWED]


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_everything_else_is_refused(current: OrderStatus, target: OrderStatus) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target)
    assert (info.value.current, info.value.target) == (current, target)


def test_a_paid_order_never_goes_back() -> None:
    for target in (S.PENDING, S.FAILED, S.CANCELLED, S.EXPIRED):
        assert not can_transition(S.PAID, target)
    assert not can_transition(S.REFUNDED, S.PAID)
    assert not can_transition(S.PARTIALLY_REFUNDED, S.PAID)


def test_money_taken_after_failure_cancel_or_expiry_is_recorded() -> None:
    for status in (S.FAILED, S.CANCELLED, S.EXPIRED):
        assert check_transition(status, S.PAID)


def test_a_held_payment_never_goes_back_to_waiting() -> None:
    for target in (S.PENDING, S.FAILED, S.CANCELLED, S.EXPIRED):
        assert not can_transition(S.NEEDS_REVIEW, target)
    assert not can_transition(S.PAID, S.NEEDS_REVIEW)


def test_the_refused_table_is_not_empty() -> None:
    # 8 statuses: 56 ordered pairs of distinct statuses, 17 allowed.
    assert len(REFUSED) == 39
