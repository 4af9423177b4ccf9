"""Pieces of the HTTP contract shared by every service's API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from paystream.shared.money import Money


class MoneyOut(BaseModel):
    """An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`."""

    value: str = Field(examples=["100.00"], description="Decimal string in the currency's units")
    currency: str = Field(examples=["CNY"])

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(value=money.format(), currency=money.currency)
