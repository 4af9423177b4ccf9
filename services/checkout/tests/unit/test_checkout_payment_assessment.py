"""The order is the authority: what a successful payment means for its order, by the order's
facts alone (every case of issue 10's list, and the ordinary ones)."""

from __future__ import annotations

import pytest
from orderkit import order
from orderkit import payment as paid

from paystream.checkout.catalog.domain import Package
from paystream.checkout.orders.domain import (
    OrderStatus,
    Verdict,
    assess_payment,
    describe,
    package_facts,
)
from paystream.shared.money import Money


def test_the_order_s_amount_currency_and_facts_are_granted() -> None:
    a = assess_payment(order(), paid())
    assert (a.verdict, a.reasons) == (Verdict.MATCHED, ())
    # Lower-case currency from a provider is the same currency.
    assert assess_payment(order(), paid(currency="cny")).verdict is Verdict.MATCHED


@pytest.mark.parametrize(
    ("change", "reasons"),
    [
        ({"credits": 999_999}, ("credits_mismatch",)),  # metadata edited in a dashboard
        ({"amount_minor": 1}, ("amount_mismatch",)),
        ({"amount_minor": 0}, ("amount_mismatch",)),
        ({"amount_minor": 9_999}, ("amount_mismatch",)),
        ({"currency": "USD"}, ("currency_mismatch",)),
        ({"user_id": "bob"}, ("user_mismatch",)),  # someone else's id on alice's order
        ({"package_id": "premium"}, ("package_mismatch",)),
        ({"amount_minor": 2**53}, ("amount_mismatch",)),  # absurd: not an overpayment
        ({"user_id": "bob", "credits": 1}, ("user_mismatch", "credits_mismatch")),
    ],
)
def test_anything_the_order_does_not_say_is_held_for_review(
    change: dict[str, object], reasons: tuple[str, ...]
) -> None:
    a = assess_payment(order(), paid(**change))
    assert (a.verdict, a.reasons) == (Verdict.NEEDS_REVIEW, reasons)
    assert a.details  # what differed, for the operator


def test_a_currency_paystream_does_not_know_leaves_the_order_untouched() -> None:
    a = assess_payment(order(), paid(currency="XXX"))
    assert (a.verdict, a.reasons) == (Verdict.UNSUPPORTED, ("currency_unsupported",))


def test_an_unknown_order_grants_nothing() -> None:
    a = assess_payment(None, paid())
    assert (a.verdict, a.reasons) == (Verdict.UNKNOWN_ORDER, ("unknown_order",))


def test_an_overpayment_is_granted_as_ordered_and_flagged_up_to_twice_the_amount() -> None:
    a = assess_payment(order(), paid(amount_minor=15_000))
    assert (a.verdict, a.reasons) == (Verdict.OVERPAID, ("overpaid",))
    assert assess_payment(order(), paid(amount_minor=20_000)).verdict is Verdict.OVERPAID
    assert assess_payment(order(), paid(amount_minor=20_001)).verdict is Verdict.NEEDS_REVIEW


def test_usdt_is_measured_against_the_exact_deposit_amount() -> None:
    usdt = order(amount=Money(14_000_000, "USDT"), deposit_amount=Money(14_000_348, "USDT"))
    exact = paid(amount_minor=14_000_348, currency="USDT")
    assert assess_payment(usdt, exact).verdict is Verdict.MATCHED
    short = paid(amount_minor=14_000_000, currency="USDT")
    assert assess_payment(usdt, short).verdict is Verdict.NEEDS_REVIEW


@pytest.mark.parametrize(
    "status",
    [S for S in OrderStatus if S not in (OrderStatus.PENDING, OrderStatus.FAILED)]
    + [OrderStatus.FAILED],
)
def test_a_payment_already_recorded_is_a_repeat_and_another_one_a_duplicate(
    status: OrderStatus,
) -> None:
    held = order(status=status, provider_payment_id="pi_1")
    if status in (OrderStatus.FAILED, OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        # Money taken for a failed, cancelled or expired order is granted, never ignored.
        assert assess_payment(held, paid()).verdict is Verdict.MATCHED
        return
    assert assess_payment(held, paid()).verdict is Verdict.REPEAT
    second = assess_payment(held, paid(provider_payment_id="pi_2", provider_event_id="evt_9"))
    assert (second.verdict, second.reasons) == (Verdict.DUPLICATE, ("duplicate_payment",))


def test_an_order_s_facts_are_its_package_s() -> None:
    package = Package(
        id="standard",
        name="Standard",
        credits=1100,
        prices=(Money(10_000, "CNY"), Money(1_400, "USD")),
        unit="credits",
        validity="P6M",
    )
    grants, lines = package_facts(package, Money(1_400, "USD"))
    [grant] = grants
    assert (grant.unit, grant.quantity, grant.validity, grant.cost_minor) == (
        "credits",
        1100,
        "P6M",
        1_400,
    )
    [line] = lines
    assert (line.description, line.quantity, line.amount_minor) == (
        "standard — 1,100 credits",
        1,
        1_400,
    )
    assert describe("single", 1, "receives") == "single — 1 receive"
