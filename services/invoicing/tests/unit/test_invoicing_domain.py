"""Pure invoicing rules: number format and blocks, invoicing year, amounts, description, list
cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from paystream.invoicing.domain import (
    describe,
    format_invoice_number,
    invoicing_year,
    number_blocks,
)
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyOut


@pytest.mark.parametrize(
    ("year", "sequence", "expected"),
    [
        (2026, 1, "INV-2026-000001"),
        (2026, 42, "INV-2026-000042"),
        (2027, 999_999, "INV-2027-999999"),
        # Past a million a year the number widens instead of refusing a paid order.
        (2027, 1_000_000, "INV-2027-1000000"),
    ],
)
def test_invoice_number_format(year: int, sequence: int, expected: str) -> None:
    assert format_invoice_number(year, sequence) == expected


@pytest.mark.parametrize(("year", "sequence"), [(2026, 0), (2026, -1), (0, 1), (10_000, 1)])
def test_invoice_number_refuses_impossible_parts(year: int, sequence: int) -> None:
    with pytest.raises(ValueError, match=r"range|starts at 1"):
        format_invoice_number(year, sequence)


def test_number_blocks_hand_out_each_years_block_in_record_order() -> None:
    # 2026 took 3 numbers ending at 12 (10, 11, 12); 2027 took 2 ending at 2 (1, 2).
    years = [2026, 2027, 2026, 2027, 2026]
    assert number_blocks(years, {2026: 12, 2027: 2}) == [10, 1, 11, 2, 12]
    assert number_blocks([2026], {2026: 1}) == [1]
    assert number_blocks([], {}) == []


@pytest.mark.parametrize(
    ("paid_at", "year"),
    [
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), 2026),
        (datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC), 2027),
        # 08:00 on 1 January in Shanghai is still 31 December in UTC.
        (datetime(2027, 1, 1, 7, 59, tzinfo=timezone(timedelta(hours=8))), 2026),
        # 20:00 on 31 December in New York is already 1 January in UTC.
        (datetime(2026, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5))), 2027),
        # Events carry UTC; a naive time is read as UTC.
        (datetime(2026, 12, 31, 23, 59, 59), 2026),  # noqa: DTZ001
    ],
)
def test_invoicing_year_is_the_utc_year_of_payment(paid_at: datetime, year: int) -> None:
    assert invoicing_year(paid_at) == year


@pytest.mark.parametrize(
    ("minor", "currency", "value"),
    [
        (10_000, "CNY", "100.00"),
        (1, "CNY", "0.01"),
        (0, "CNY", "0.00"),
        (1_000, "JPY", "1000"),
        (12_345_678, "USDT", "12.345678"),
        (5_000_000, "USDT", "5.000000"),
    ],
)
def test_amount_uses_the_currency_exponent(minor: int, currency: str, value: str) -> None:
    out = MoneyOut.of(Money(minor, currency))
    assert out.model_dump() == {"value": value, "currency": currency}


def test_description_names_package_and_credits() -> None:
    assert describe("standard", 1100) == "standard — 1,100 credits"
    assert describe("bulk", 1_250_000) == "bulk — 1,250,000 credits"
    assert describe("single", 1) == "single — 1 credit"
    assert describe(None, 500) == "500 credits"
