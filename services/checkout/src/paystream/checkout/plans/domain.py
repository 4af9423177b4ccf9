"""Plans, their periods and the proration of a change. Pure: no I/O, integers only.

A subscription's periods are calendar months (or years) counted from its anchor, each computed
from the anchor (never from the previous period), clamped to the month's end: anchored on
January 31, the periods start on February 28 (or 29), March 31, April 30, ... An annual plan is
billed per year and grants its allowance per month.

An upgrade is prorated by the seconds left in the period: `floor(delta x left / length)` for the
price (minor units) and for the allowance (units), each rounded down. Worked examples are in
checkout's README.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from paystream.shared.clock import add_duration
from paystream.shared.money import Money

Interval = Literal["month", "year"]


@dataclass(frozen=True, slots=True)
class Rollover:
    """What is left of a period's allowance carries into the next period, up to `cap`."""

    cap: int


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    name: str
    unit: str
    # Units granted per month (an annual plan grants this every month of its year).
    allowance: int
    interval: Interval = "month"
    # One price per currency, per interval; none: a free plan.
    prices: tuple[Money, ...] = ()
    rollover: Rollover | None = None

    @property
    def is_free(self) -> bool:
        return not self.prices

    @property
    def months(self) -> int:
        """Months in one billing period."""
        return 12 if self.interval == "year" else 1

    def price_in(self, currency: str) -> Money | None:
        if self.is_free:
            return Money(0, currency.upper())
        return next((p for p in self.prices if p.currency == currency.upper()), None)


def add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` plus whole calendar months, clamped to the month's end."""
    return anchor if months == 0 else add_duration(anchor, f"P{months}M")


@dataclass(frozen=True, slots=True)
class Period:
    index: int
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return whole_seconds(self.end - self.start)

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def billing_period(anchor: datetime, index: int, months: int) -> Period:
    """The `index`-th billing period (from 0) of a subscription billed every `months`."""
    return Period(
        index, add_months(anchor, index * months), add_months(anchor, (index + 1) * months)
    )


def allowance_period(anchor: datetime, month: int) -> Period:
    """The `month`-th allowance month (from 0) counted from the anchor."""
    return billing_period(anchor, month, 1)


def allowance_month_at(anchor: datetime, at: datetime) -> int:
    """The allowance month `at` falls in (0 before the anchor's first month ends)."""
    month = max(0, (at.year - anchor.year) * 12 + at.month - anchor.month - 1)
    while allowance_period(anchor, month + 1).start <= at:
        month += 1
    return month


def whole_seconds(delta: timedelta) -> int:
    """A duration in whole seconds, rounded down (never negative)."""
    return max(0, delta // timedelta(seconds=1))


def prorate(value: int, left_s: int, length_s: int) -> int:
    """`value x left / length`, rounded down (toward zero for a negative value)."""
    if length_s <= 0:
        raise ValueError("a period has a positive length")
    left_s = min(max(left_s, 0), length_s)
    q = abs(value) * left_s // length_s
    return q if value >= 0 else -q


class ChangeKind(StrEnum):
    UPGRADE = "upgrade"  # at once, prorated
    DOWNGRADE = "downgrade"  # at the period's end
    SAME = "same"


def classify_change(current: Plan, target: Plan, currency: str) -> ChangeKind:
    """An upgrade costs more per period in the subscription's currency (or, at the same price,
    grants more); anything else, and any change of interval, waits for the period's end."""
    if target.id == current.id:
        return ChangeKind.SAME
    if target.interval != current.interval or target.is_free:
        return ChangeKind.DOWNGRADE
    old, new = current.price_in(currency), target.price_in(currency)
    assert old is not None, "the plan is priced in the subscription's currency"
    assert new is not None, "the plan is priced in the subscription's currency"
    if new.minor > old.minor or (new.minor == old.minor and target.allowance > current.allowance):
        return ChangeKind.UPGRADE
    return ChangeKind.DOWNGRADE


@dataclass(frozen=True, slots=True)
class Proration:
    """An upgrade at `at`: what it charges for the rest of the billing period and what it grants
    for the rest of the allowance month."""

    at: datetime
    period: Period
    left_s: int
    allowance_period: Period
    allowance_left_s: int
    charge: Money
    allowance_delta: int


def prorate_upgrade(
    current: Plan,
    target: Plan,
    currency: str,
    *,
    at: datetime,
    period: Period,
    allowance: Period,
) -> Proration:
    """The prorated price difference and allowance difference of an upgrade at `at`."""
    old, new = current.price_in(currency), target.price_in(currency)
    assert old is not None, "the plan is priced in the subscription's currency"
    assert new is not None, "the plan is priced in the subscription's currency"
    left = whole_seconds(period.end - at)
    allowance_left = whole_seconds(allowance.end - at)
    return Proration(
        at=at,
        period=period,
        left_s=left,
        allowance_period=allowance,
        allowance_left_s=allowance_left,
        charge=Money(max(0, prorate(new.minor - old.minor, left, period.seconds)), currency),
        allowance_delta=max(
            0, prorate(target.allowance - current.allowance, allowance_left, allowance.seconds)
        ),
    )
