"""Durations and the sandbox clock's arithmetic (the database side is in integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paystream.shared.clock import InvalidDuration, SystemClock, add_duration, parse_duration


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (at(2026, 6, 1, 12), "P6M", at(2026, 12, 1, 12)),
        (at(2026, 1, 31), "P1M", at(2026, 2, 28)),  # clamped to the month's end
        (at(2028, 1, 31), "P1M", at(2028, 2, 29)),  # leap year
        (at(2026, 8, 31), "P6M", at(2027, 2, 28)),
        (at(2026, 3, 31), "P6M1D", at(2026, 10, 1)),
        (at(2026, 12, 4, 10), "PT1H", at(2026, 12, 4, 11)),
        (at(2026, 12, 4), "P1Y", at(2027, 12, 4)),
        (at(2026, 12, 4), "P2W", at(2026, 12, 18)),
    ],
)
def test_durations_add_calendar_months_and_clamp(
    start: datetime, duration: str, expected: datetime
) -> None:
    assert add_duration(start, duration) == expected


@pytest.mark.parametrize("text", ["", "6M", "P", "PT", "P-1D", "P0D", "PT0S", "1 day", "P1.5Q"])
def test_bad_or_non_positive_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidDuration):
        parse_duration(text)


def test_a_timedelta_adds_as_is() -> None:
    assert add_duration(at(2026, 1, 1), timedelta(days=1)) == at(2026, 1, 2)


def test_the_system_clock_is_utc_now() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert before <= now <= datetime.now(UTC)
