"""HTTP bodies of the catalog: packages and the payment methods offered per currency."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from paystream.checkout.catalog.domain import Package
from paystream.shared.schemas import MoneyOut

Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3,4}$", examples=["CNY"])]


class PackageOut(BaseModel):
    id: str
    name: str
    credits: int
    price: MoneyOut = Field(description="The default price (the first of `prices`).")
    prices: list[MoneyOut]

    @classmethod
    def of(cls, p: Package) -> PackageOut:
        return cls(
            id=p.id,
            name=p.name,
            credits=p.credits,
            price=MoneyOut.of(p.price),
            prices=[MoneyOut.of(m) for m in p.prices],
        )


class PackagesOut(BaseModel):
    packages: list[PackageOut]


class PaymentMethodOut(BaseModel):
    payment_method: str
    provider: str
    # For stripe_payment_intent: the Stripe payment method types offered in this currency.
    types: list[str] = Field(default_factory=list)


class PaymentMethodsOut(BaseModel):
    currency: str
    methods: list[PaymentMethodOut]
