from decimal import Decimal

import pytest

from paystream.shared.money import CurrencyError, Money


@pytest.mark.parametrize(
    ("value", "currency", "minor", "formatted"),
    [
        ("100.00", "CNY", 10000, "100.00"),
        ("100", "CNY", 10000, "100.00"),
        ("0.01", "USD", 1, "0.01"),
        ("1000", "JPY", 1000, "1000"),
        ("12.345678", "USDT", 12345678, "12.345678"),
    ],
)
def test_parse_and_format_follow_the_currency_exponent(
    value: str, currency: str, minor: int, formatted: str
) -> None:
    m = Money.parse(value, currency)
    assert m.minor == minor
    assert m.format() == formatted
    assert m.to_decimal() == Decimal(value)


@pytest.mark.parametrize(
    ("value", "currency"), [("0.001", "CNY"), ("1.5", "JPY"), ("1.0000001", "USDT")]
)
def test_more_precision_than_the_currency_has_is_refused(value: str, currency: str) -> None:
    with pytest.raises(ValueError, match="decimals"):
        Money.parse(value, currency)


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", ""])
def test_garbage_is_refused(value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - message differs per case
        Money.parse(value, "CNY")


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(CurrencyError):
        Money(100, "XXX")


def test_floats_never_become_money() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "CNY")  # type: ignore[arg-type]


def test_arithmetic_refuses_mixed_currencies() -> None:
    a = Money(100, "CNY")
    assert a + Money(50, "CNY") == Money(150, "CNY")
    assert a - Money(150, "CNY") == Money(-50, "CNY")
    assert Money(1, "CNY") < a
    with pytest.raises(CurrencyError):
        _ = a + Money(1, "USD")
    with pytest.raises(CurrencyError):
        _ = a < Money(1, "USD")


def test_prorate_rounds_half_even() -> None:
    assert Money(1100, "CNY").prorate(1, 2) == 550
    assert Money(5, "CNY").prorate(1, 2) == 2  # 2.5 -> 2
    assert Money(7, "CNY").prorate(1, 2) == 4  # 3.5 -> 4
    with pytest.raises(ValueError, match="denominator"):
        Money(1, "CNY").prorate(1, 0)
