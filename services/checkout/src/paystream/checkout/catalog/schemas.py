"""HTTP bodies of the catalog: packages and the payment methods offered per currency."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from paystream.checkout.catalog.domain import Package
from paystream.checkout.pricing.schemas import ProductOut
from paystream.shared.schemas import MoneyOut

Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3,4}$", examples=["CNY"])]


class PackageOut(BaseModel):
    id: str
    name: str
    credits: int = Field(description="how many of `unit` the package grants")
    unit: str = Field(description="the unit granted: `credits`, or one the catalog defines")
    validity: str | None = Field(
        description="ISO 8601 duration the granted credits last from the payment (`P6M`); "
        "null: they never expire"
    )
    price: MoneyOut = Field(description="The default price (the first of `prices`).")
    prices: list[MoneyOut]

    @classmethod
    def of(cls, p: Package) -> PackageOut:
        return cls(
            id=p.id,
            name=p.name,
            credits=p.credits,
            unit=p.unit,
            validity=p.validity,
            price=MoneyOut.of(p.price),
            prices=[MoneyOut.of(m) for m in p.prices],
        )


class UnitOut(BaseModel):
    id: str
    name: str


class PackagesOut(BaseModel):
    packages: list[PackageOut]
    units: list[UnitOut] = Field(description="the units the catalog sells")
    products: list[ProductOut] = Field(
        default_factory=list,
        description="unit products sold by quantity (tiers) or for a custom amount "
        "(also at GET /v1/products); price a purchase with POST /v1/quotes",
    )


class PaymentMethodOut(BaseModel):
    payment_method: str
    provider: str
    # For stripe_payment_intent: the Stripe payment method types offered in this currency.
    types: list[str] = Field(default_factory=list)


class PaymentMethodsOut(BaseModel):
    currency: str
    methods: list[PaymentMethodOut]
