"""Lots: the one consumption order, allocation, expiry at the exact second, validity rules,
what a refund takes back, how a capture splits a hold, and what a balance shows."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from paystream.ledger.lots.domain import (
    FIXED,
    NO_EXPIRY,
    Allocator,
    Insufficient,
    InvalidValidity,
    Lot,
    balance_of,
    consumption_order,
    expiry_of,
    split_capture,
    take_back,
)

NOW = datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)


def _lot(
    credits: int = 100,
    *,
    remaining: int | None = None,
    held: int = 0,
    priority: int = 50,
    expires_in: timedelta | None = None,
    age: timedelta = timedelta(days=1),
    cost: int = 1000,
    unit: str = "credits",
    name: int | None = None,
) -> Lot:
    return Lot(
        id=uuid.UUID(int=name) if name is not None else uuid.uuid4(),
        user_id="alice",
        unit=unit,
        credits=credits,
        remaining=credits if remaining is None else remaining,
        held=held,
        effective_at=NOW - age,
        expires_at=NOW + expires_in if expires_in is not None else None,
        priority=priority,
        cost_minor=cost,
    )


def test_the_consumption_order_is_priority_then_soonest_expiry_then_free_then_oldest() -> None:
    low_priority = _lot(priority=10, expires_in=None)
    soon = _lot(expires_in=timedelta(days=1))
    later = _lot(expires_in=timedelta(days=30))
    never_old = _lot(expires_in=None, age=timedelta(days=90))
    never_new_free = _lot(expires_in=None, cost=0, age=timedelta(days=1))
    never_new_paid = _lot(expires_in=None, age=timedelta(days=1))
    same_a = _lot(expires_in=timedelta(days=60), name=1)
    same_b = _lot(expires_in=timedelta(days=60), name=2)
    expected = [
        low_priority,
        soon,
        later,
        same_a,
        same_b,
        never_new_free,  # free before paid, whatever their age
        never_old,
        never_new_paid,
    ]
    for seed in range(5):
        shuffled = list(expected)
        random.Random(seed).shuffle(shuffled)
        assert consumption_order(shuffled) == expected


def test_free_before_paid_comes_after_expiry() -> None:
    paid_soon = _lot(expires_in=timedelta(days=2), cost=500)
    free_later = _lot(expires_in=timedelta(days=3), cost=0)
    assert consumption_order([free_later, paid_soon]) == [paid_soon, free_later]


def test_a_spend_takes_lots_in_consumption_order_and_says_which() -> None:
    a = _lot(30, expires_in=timedelta(days=1))
    b = _lot(50, expires_in=timedelta(days=2))
    c = _lot(100, expires_in=None)
    alloc = Allocator([c, b, a], NOW)
    assert alloc.available == 180
    assert alloc.take(40) == ((a.id, 30), (b.id, 10))
    assert alloc.take(40) == ((b.id, 40),)
    assert alloc.take(1) == ((c.id, 1),)
    assert alloc.available == 99


def test_a_spend_above_what_is_available_takes_nothing() -> None:
    alloc = Allocator([_lot(30), _lot(20, held=5)], NOW)
    with pytest.raises(Insufficient) as refused:
        alloc.take(46)
    assert (refused.value.available, refused.value.requested) == (45, 46)
    assert alloc.available == 45  # nothing was taken
    assert sum(n for _, n in alloc.take(45)) == 45
    with pytest.raises(ValueError, match="positive"):
        alloc.take(0)


def test_held_credits_are_not_spendable() -> None:
    lot = _lot(100, held=60)
    assert lot.available == 40
    assert Allocator([lot], NOW).take(40) == ((lot.id, 40),)


def test_expiry_is_exact_to_the_second() -> None:
    lot = _lot(100, expires_in=timedelta(seconds=1))
    moment = lot.expires_at
    assert moment is not None
    assert lot.is_live(moment - timedelta(microseconds=1))
    assert not lot.is_live(moment)  # at the second it expires, it no longer counts
    assert not lot.is_live(moment + timedelta(microseconds=1))
    assert Allocator([lot], moment - timedelta(microseconds=1)).available == 100
    assert Allocator([lot], moment).available == 0
    with pytest.raises(Insufficient):
        Allocator([lot], moment).take(1)


def test_a_lot_counts_from_the_second_it_becomes_effective() -> None:
    lot = _lot(100, age=timedelta(0))
    assert lot.is_live(lot.effective_at)
    assert not lot.is_live(lot.effective_at - timedelta(microseconds=1))


def test_units_never_mix_because_a_balance_is_per_unit() -> None:
    credits = _lot(100, unit="credits", expires_in=timedelta(days=3))
    receives = _lot(7, unit="receives", expires_in=timedelta(days=1))
    b = balance_of("receives", [receives], NOW)
    assert (b.unit, b.available, b.next_expiry_credits) == ("receives", 7, 7)
    assert balance_of("credits", [credits], NOW).available == 100


def test_a_balance_shows_available_held_and_the_next_expiry() -> None:
    soon_a = _lot(30, expires_in=timedelta(days=2), name=1)
    soon_b = _lot(20, held=5, expires_in=timedelta(days=2), name=2)
    later = _lot(100, expires_in=timedelta(days=30))
    never = _lot(10)
    gone = _lot(50, held=10, expires_in=timedelta(seconds=-1))  # expired, still under a hold
    used = _lot(40, remaining=0, expires_in=timedelta(days=1))
    b = balance_of("credits", [soon_a, soon_b, later, never, gone, used], NOW)
    assert (b.available, b.held) == (30 + 15 + 100 + 10, 5 + 10)
    assert (b.next_expiry_credits, b.next_expiry_at) == (45, soon_a.expires_at)
    nothing = balance_of("credits", [never], NOW)
    assert (nothing.next_expiry_credits, nothing.next_expiry_at) == (0, None)


@pytest.mark.parametrize(
    ("start", "validity", "expected"),
    [
        (datetime(2026, 1, 31, 10, tzinfo=UTC), "P1M", datetime(2026, 2, 28, 10, tzinfo=UTC)),
        (datetime(2024, 1, 31, 10, tzinfo=UTC), "P1M", datetime(2024, 2, 29, 10, tzinfo=UTC)),
        (datetime(2025, 8, 31, 0, tzinfo=UTC), "P6M", datetime(2026, 2, 28, 0, tzinfo=UTC)),
        (datetime(2026, 3, 15, 12, tzinfo=UTC), "P6M", datetime(2026, 9, 15, 12, tzinfo=UTC)),
        (datetime(2026, 3, 15, 12, tzinfo=UTC), "P30D", datetime(2026, 4, 14, 12, tzinfo=UTC)),
        (datetime(2026, 3, 15, 12, tzinfo=UTC), "PT1H", datetime(2026, 3, 15, 13, tzinfo=UTC)),
        (datetime(2026, 3, 15, 12, tzinfo=UTC), "P1Y", datetime(2027, 3, 15, 12, tzinfo=UTC)),
    ],
)
def test_validity_rules_add_calendar_months_clamped_to_the_month_end(
    start: datetime, validity: str, expected: datetime
) -> None:
    assert expiry_of(start, validity=validity, expires_at=None) == (expected, validity)


def test_no_validity_means_no_expiry_and_a_fixed_end_is_recorded_as_such() -> None:
    assert expiry_of(NOW, validity=None, expires_at=None) == (None, NO_EXPIRY)
    assert expiry_of(NOW, validity="none", expires_at=None) == (None, NO_EXPIRY)
    end = NOW + timedelta(days=10)
    assert expiry_of(NOW, validity=None, expires_at=end) == (end, FIXED)


@pytest.mark.parametrize(
    ("validity", "expires_at"),
    [
        ("six months", None),
        ("P0D", None),
        ("-P1M", None),
        (None, NOW),
        (None, NOW - timedelta(seconds=1)),
        (None, NOW.replace(tzinfo=None) + timedelta(days=1)),
        ("P1M", NOW + timedelta(days=1)),
    ],
)
def test_bad_validities_are_refused(validity: str | None, expires_at: datetime | None) -> None:
    with pytest.raises(InvalidValidity):
        expiry_of(NOW, validity=validity, expires_at=expires_at)


def test_a_refund_takes_from_its_orders_lot_first_then_in_consumption_order() -> None:
    own = _lot(100, remaining=30, expires_in=None)
    other_soon = _lot(50, expires_in=timedelta(days=1))
    other_later = _lot(50, expires_in=timedelta(days=9))
    taken, shortfall = take_back([own], [other_later, other_soon], 70, NOW)
    assert taken == ((own.id, 30), (other_soon.id, 40))
    assert shortfall == 0


def test_a_refund_never_takes_held_or_expired_credits_and_reports_the_rest() -> None:
    own = _lot(100, remaining=40, held=25)
    expired = _lot(50, expires_in=timedelta(seconds=-1))
    other = _lot(10, held=10)
    taken, shortfall = take_back([own], [expired, other], 100, NOW)
    assert taken == ((own.id, 15),)
    assert shortfall == 85
    assert take_back([own], [], 0, NOW) == ((), 0)


def test_a_capture_spends_the_holds_first_lots_and_releases_the_rest() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    allocations = ((a, 30), (b, 50), (c, 20))
    assert split_capture(allocations, 60) == (((a, 30), (b, 30)), ((b, 20), (c, 20)))
    assert split_capture(allocations, 100) == (allocations, ())
    assert split_capture(allocations, 0) == ((), allocations)
    assert split_capture(allocations, 30) == (((a, 30),), ((b, 50), (c, 20)))
    for bad in (-1, 101):
        with pytest.raises(ValueError, match="outside"):
            split_capture(allocations, bad)
