"""Plans, periods and proration arithmetic: calendar months from the anchor clamped to the
month's end, months of different lengths, day and second boundaries, rounding down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paystream.checkout.catalog.service import load_catalog
from paystream.checkout.plans.domain import (
    ChangeKind,
    Plan,
    allowance_month_at,
    allowance_period,
    billing_period,
    classify_change,
    prorate,
    prorate_upgrade,
    whole_seconds,
)
from paystream.shared.money import Money

DAY = 86_400


def plan(plan_id: str) -> Plan:
    p = load_catalog().plan(plan_id)
    assert p is not None
    return p


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_periods_are_calendar_months_from_the_anchor_clamped_to_the_month_s_end() -> None:
    anchor = at(2026, 1, 31, 10)
    starts = [billing_period(anchor, i, 1).start for i in range(6)]
    assert starts == [
        at(2026, 1, 31, 10),
        at(2026, 2, 28, 10),  # February has 28 days in 2026
        at(2026, 3, 31, 10),  # back to the 31st: computed from the anchor, not from Feb 28
        at(2026, 4, 30, 10),
        at(2026, 5, 31, 10),
        at(2026, 6, 30, 10),
    ]
    assert billing_period(anchor, 0, 1).seconds == 28 * DAY
    assert billing_period(anchor, 1, 1).seconds == 31 * DAY
    assert billing_period(anchor, 2, 1).seconds == 30 * DAY
    leap = at(2028, 1, 31)
    assert billing_period(leap, 0, 1).end == at(2028, 2, 29)
    assert billing_period(leap, 0, 1).seconds == 29 * DAY


def test_an_annual_plan_is_billed_yearly_and_granted_monthly() -> None:
    anchor = at(2026, 3, 31)
    year = billing_period(anchor, 0, plan("pro_annual").months)
    assert (year.start, year.end) == (at(2026, 3, 31), at(2027, 3, 31))
    months = [allowance_period(anchor, m) for m in range(12)]
    assert months[0].end == at(2026, 4, 30) == months[1].start
    assert months[-1].end == year.end
    assert sum(m.seconds for m in months) == year.seconds


@pytest.mark.parametrize(
    ("when", "month"),
    [
        (at(2026, 1, 1), 0),  # before the anchor
        (at(2026, 1, 31, 10), 0),
        (at(2026, 2, 28, 9, 59, 59), 0),
        (at(2026, 2, 28, 10), 1),  # the second month starts exactly here
        (at(2026, 3, 30), 1),
        (at(2026, 3, 31, 10), 2),
        (at(2027, 1, 31, 10), 12),
    ],
)
def test_the_allowance_month_an_instant_falls_in(when: datetime, month: int) -> None:
    anchor = at(2026, 1, 31, 10)
    assert allowance_month_at(anchor, when) == month
    assert allowance_period(anchor, month).contains(when) or when < anchor


def test_prorate_rounds_down() -> None:
    assert prorate(3000, 1, 3) == 1000
    assert prorate(3000, 2, 7) == 857  # 857.14
    assert prorate(100, 2_419_199, 2_419_200) == 99  # a second short of the whole: 99.99...
    assert prorate(80, 0, 10) == 0
    assert prorate(80, 20, 10) == 80  # more than the period left is the whole period
    assert prorate(-80, 1, 3) == -26
    with pytest.raises(ValueError, match="positive length"):
        prorate(1, 1, 0)


def test_whole_seconds_drop_fractions() -> None:
    assert whole_seconds(timedelta(seconds=10, microseconds=999_999)) == 10
    assert whole_seconds(timedelta(seconds=-5)) == 0


def _upgrade(anchor: datetime, when: datetime) -> tuple[Money, int]:
    period = billing_period(anchor, 0, 1)
    p = prorate_upgrade(plan("pro"), plan("vip"), "CNY", at=when, period=period, allowance=period)
    return p.charge, p.allowance_delta


def test_upgrade_pro_to_vip_half_way_through_february() -> None:
    # Pro 29.00 -> VIP 59.00 (30.00 more), allowance 20 -> 100 (80 more); 14 of 28 days left.
    assert _upgrade(at(2026, 1, 31, 10), at(2026, 2, 14, 10)) == (Money(1500, "CNY"), 40)


def test_the_same_fourteen_days_left_of_a_31_day_month_cost_less() -> None:
    # 14 of 31 days: 30.00 x 14/31 = 13.548... -> 13.54; 80 x 14/31 = 36.1 -> 36.
    assert _upgrade(at(2026, 3, 1), at(2026, 3, 18)) == (Money(1354, "CNY"), 36)


@pytest.mark.parametrize(
    ("offset", "charge", "allowance"),
    [
        (timedelta(0), 3000, 80),  # at the period's first second: the whole difference
        (timedelta(seconds=1), 2999, 79),  # one second later: rounded down, both
        (timedelta(days=1), 2892, 77),  # 27/28 days: 2892.857..., 77.14...
        (timedelta(days=27), 107, 2),  # one day left: 107.14..., 2.85...
        (timedelta(days=28) - timedelta(seconds=1), 0, 0),  # the last second buys nothing
    ],
)
def test_upgrade_day_and_second_boundaries(offset: timedelta, charge: int, allowance: int) -> None:
    anchor = at(2026, 2, 1)  # a 28-day period
    assert _upgrade(anchor, anchor + offset) == (Money(charge, "CNY"), allowance)


def test_a_late_upgrade_cannot_buy_a_full_allowance_for_a_few_fen() -> None:
    anchor = at(2026, 2, 1)
    charge, allowance = _upgrade(anchor, anchor + timedelta(days=28) - timedelta(hours=1))
    assert charge == Money(4, "CNY")  # 30.00 x 3600 / 2419200 = 4.46 fen
    assert allowance == 0  # not 80: the allowance is prorated like the price


def test_an_annual_plan_s_allowance_delta_is_prorated_over_its_month() -> None:
    anchor = at(2026, 1, 1)
    year = billing_period(anchor, 0, 12)
    month = allowance_period(anchor, 5)  # June 1 - July 1, 30 days
    when = at(2026, 6, 16)  # 15 of 30 days left in the month; 199 of 365 in the year
    annual_vip = Plan("vip_annual", "VIP (annual)", "receives", 100, "year", (Money(59000, "CNY"),))
    p = prorate_upgrade(
        plan("pro_annual"), annual_vip, "CNY", at=when, period=year, allowance=month
    )
    assert p.left_s == 199 * DAY
    assert p.charge == Money(30000 * 199 // 365, "CNY")  # 300.00 x 199/365 = 163.56
    assert p.allowance_delta == 40  # 80 x 15/30


@pytest.mark.parametrize(
    ("current", "target", "kind"),
    [
        ("pro", "vip", ChangeKind.UPGRADE),
        ("vip", "pro", ChangeKind.DOWNGRADE),
        ("pro", "basic", ChangeKind.DOWNGRADE),
        ("pro", "pro", ChangeKind.SAME),
        ("pro", "pro_annual", ChangeKind.DOWNGRADE),  # another interval: at the period's end
        ("pro_annual", "vip", ChangeKind.DOWNGRADE),
    ],
)
def test_classify_change(current: str, target: str, kind: ChangeKind) -> None:
    assert classify_change(plan(current), plan(target), "CNY") is kind
