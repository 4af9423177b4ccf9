"""Money as integer minor units plus an ISO currency code. No float ever touches money."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Exponent = number of digits after the decimal point for the currency's minor unit.
CURRENCY_EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "MYR": 2,
    "SGD": 2,
    "HKD": 2,
    "JPY": 0,
    "KRW": 0,
    "USDT": 6,
}


class CurrencyError(ValueError):
    """An unknown currency, or an operation mixing two currencies."""


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise CurrencyError(f"unsupported currency {currency!r}") from None


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in minor units (fen, cents, 1e-6 USDT) of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int")
        exponent(self.currency)

    @classmethod
    def parse(cls, value: str | Decimal | int, currency: str) -> Money:
        """Parse a decimal string such as "100.00"; refuse more precision than the currency has."""
        exp = exponent(currency)
        try:
            dec = Decimal(value) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value!r}") from None
        if not dec.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        scaled = dec.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value!r} has more than {exp} decimals for {currency}")
        return cls(int(scaled), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def format(self) -> str:
        """Fixed-point string with the currency's decimals: 10000 CNY -> "100.00"."""
        exp = exponent(self.currency)
        return f"{self.to_decimal():.{exp}f}"

    def _check(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.minor >= other.minor

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def is_positive(self) -> bool:
        return self.minor > 0

    def prorate(self, numerator: int, denominator: int) -> int:
        """Return minor * numerator / denominator rounded half-even, as an int (for shares)."""
        if denominator <= 0:
            raise ValueError("denominator must be positive")
        q = (Decimal(self.minor) * numerator / denominator).quantize(
            Decimal(1), rounding=ROUND_HALF_EVEN
        )
        return int(q)

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"
