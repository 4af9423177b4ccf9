"""HTTP bodies of unit products: their tiers and custom-amount rules, as the catalog lists them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from paystream.checkout.pricing.domain import ProductPrice, UnitProduct, tier_bounds
from paystream.shared.schemas import MoneyOut


class TierOut(BaseModel):
    first: int = Field(description="the smallest quantity this tier prices")
    up_to: int | None = Field(description="the largest (null: no upper end)")
    unit_amount: MoneyOut = Field(description="what every unit costs when the quantity is here")


class RateOut(BaseModel):
    threshold: MoneyOut = Field(description="amounts from this one on qualify for the rate")
    units: int
    per: MoneyOut = Field(description="`units` per `per`: the rate is per / units")


class CustomAmountOut(BaseModel):
    min: MoneyOut
    max: MoneyOut
    step: MoneyOut = Field(description="an amount is min plus a multiple of step")
    rates: list[RateOut]


class ProductPriceOut(BaseModel):
    currency: str
    tiers: list[TierOut] = Field(
        description="volume tiers: the tier a quantity reaches prices "
        "every unit; empty when sold only for a custom amount"
    )
    custom_amount: CustomAmountOut | None

    @classmethod
    def of(cls, p: ProductPrice, min_quantity: int) -> ProductPriceOut:
        custom = None
        if p.custom is not None:
            c = p.custom
            custom = CustomAmountOut(
                min=MoneyOut.of(c.minimum),
                max=MoneyOut.of(c.maximum),
                step=MoneyOut.of(c.step),
                rates=[
                    RateOut(
                        threshold=MoneyOut.of(r.threshold), units=r.units, per=MoneyOut.of(r.per)
                    )
                    for r in c.rates
                ],
            )
        bounds = tier_bounds(p.tiers, min_quantity)
        return cls(
            currency=p.currency,
            tiers=[
                TierOut(first=first, up_to=last, unit_amount=MoneyOut.of(t.unit_amount))
                for (first, last), t in zip(bounds, p.tiers, strict=True)
            ],
            custom_amount=custom,
        )


class ProductOut(BaseModel):
    id: str
    name: str
    unit: str
    validity: str | None = Field(
        description="ISO 8601 duration the bought units last from the payment; null: forever"
    )
    min_quantity: int
    max_quantity: int
    prices: list[ProductPriceOut]

    @classmethod
    def of(cls, p: UnitProduct) -> ProductOut:
        return cls(
            id=p.id,
            name=p.name,
            unit=p.unit,
            validity=p.validity,
            min_quantity=p.min_quantity,
            max_quantity=p.max_quantity,
            prices=[ProductPriceOut.of(pr, p.min_quantity) for pr in p.prices],
        )


class ProductsOut(BaseModel):
    products: list[ProductOut]
