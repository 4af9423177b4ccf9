"""Pieces of the HTTP contract shared by every service's API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from paystream.shared.money import CurrencyError, Money


class MoneyOut(BaseModel):
    """An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`."""

    value: str = Field(examples=["100.00"], description="Decimal string in the currency's units")
    currency: str = Field(examples=["CNY"])

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(value=money.format(), currency=money.currency)


class MoneyIn(BaseModel):
    """An amount in a request: a decimal string (never a JSON number) and an ISO currency."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(pattern=r"^\d{1,15}(\.\d{1,8})?$", examples=["100.00"])
    currency: str = Field(pattern=r"^[A-Za-z]{3,4}$", examples=["CNY"])

    @field_validator("value", "currency")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @model_validator(mode="after")
    def _parses(self) -> MoneyIn:
        # A value with more decimals than the currency has, or an unknown currency, is refused
        # at validation (422), never rounded.
        self.to_money()
        return self

    def to_money(self) -> Money:
        try:
            return Money.parse(self.value, self.currency.upper())
        except (CurrencyError, ValueError) as exc:
            raise ValueError(str(exc)) from None
