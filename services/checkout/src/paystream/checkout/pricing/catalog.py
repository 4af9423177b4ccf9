"""The `products` of the catalog file: unit products with their tiers and custom-amount rules.

    {"id": "receives", "name": "Receives", "unit": "receives", "validity": null,
     "min_quantity": 1, "max_quantity": 100,
     "prices": [{"currency": "CNY",
                 "tiers": [{"up_to": 4, "unit_amount": "2.00"},
                           {"up_to": 9, "unit_amount": "1.80"},
                           {"up_to": 19, "unit_amount": "1.70"},
                           {"up_to": 100, "unit_amount": "1.60"}],
                 "custom_amount": {"min": "2.00", "max": "160.00", "step": "1.00"}}]}

A custom amount without `rates` takes the tiers as its rates; with them, each rate is
`{"from": "100.00", "units": 1100, "per": "100.00"}`. Amounts are decimal strings.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from paystream.checkout.pricing.domain import (
    CustomAmount,
    ProductPrice,
    Rate,
    Tier,
    UnitProduct,
    check_product,
    rates_from_tiers,
)
from paystream.shared.clock import InvalidDuration, parse_duration
from paystream.shared.money import CurrencyError, Money

PRODUCT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_VALIDITY = "P6M"


class _TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    up_to: StrictInt | None
    unit_amount: StrictStr


class _RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    threshold: StrictStr = Field(alias="from")
    units: StrictInt
    per: StrictStr


class _CustomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: StrictStr
    max: StrictStr
    step: StrictStr
    rates: list[_RateIn] | None = None


class _PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: StrictStr
    tiers: list[_TierIn] = []
    custom_amount: _CustomIn | None = None


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    name: StrictStr
    unit: StrictStr
    validity: StrictStr | None = DEFAULT_VALIDITY
    min_quantity: StrictInt = 1
    max_quantity: StrictInt = 100
    prices: list[_PriceIn]


def parse_products(raw: list[ProductIn], units: set[str], problems: list[str]) -> list[UnitProduct]:
    """Validate the products; every problem is appended to `problems`."""
    out: list[UnitProduct] = []
    seen: set[str] = set()
    for i, p in enumerate(raw):
        where = f"products[{i}] ({p.id!r})"
        found: list[str] = []
        if not PRODUCT_ID.match(p.id):
            found.append(f"id must match {PRODUCT_ID.pattern}")
        if p.id in seen:
            found.append("duplicate id")
        seen.add(p.id)
        if not p.name.strip():
            found.append("name is empty")
        if p.unit not in units:
            found.append(f"unit {p.unit!r} is not one of the catalog's units")
        if p.validity is not None:
            try:
                parse_duration(p.validity)
            except InvalidDuration as exc:
                found.append(f"validity: {exc}")
        prices: list[ProductPrice] = []
        for j, pr in enumerate(p.prices):
            try:
                prices.append(_price(pr, p.min_quantity))
            except (CurrencyError, ValueError) as exc:
                found.append(f"prices[{j}]: {exc}")
        if len({pr.currency for pr in prices}) != len(prices):
            found.append("a second price in one currency")
        product = UnitProduct(
            id=p.id,
            name=p.name.strip(),
            unit=p.unit,
            validity=p.validity,
            min_quantity=p.min_quantity,
            max_quantity=p.max_quantity,
            prices=tuple(prices),
        )
        if not found:
            found += check_product(product)
        problems += [f"{where}: {m}" for m in found]
        out.append(product)
    return out


def _price(raw: _PriceIn, min_quantity: int) -> ProductPrice:
    currency = raw.currency.upper()
    tiers = tuple(Tier(t.up_to, Money.parse(t.unit_amount, currency)) for t in raw.tiers)
    custom = None
    if raw.custom_amount is not None:
        c = raw.custom_amount
        if c.rates is None:
            rates = rates_from_tiers(tiers, min_quantity)
        else:
            rates = tuple(
                Rate(Money.parse(r.threshold, currency), r.units, Money.parse(r.per, currency))
                for r in c.rates
            )
        custom = CustomAmount(
            minimum=Money.parse(c.min, currency),
            maximum=Money.parse(c.max, currency),
            step=Money.parse(c.step, currency),
            rates=rates,
        )
    return ProductPrice(currency=currency, tiers=tiers, custom=custom)
