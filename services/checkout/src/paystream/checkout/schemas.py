"""Request and response bodies of checkout's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints

from paystream.checkout.catalog import Package
from paystream.checkout.domain import Order, OrderStatus
from paystream.shared.schemas import MoneyOut

PaymentMethod = Literal["stripe_checkout"]
ReturnUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)]


class PackageOut(BaseModel):
    id: str
    name: str
    credits: int
    price: MoneyOut

    @classmethod
    def of(cls, p: Package) -> PackageOut:
        return cls(id=p.id, name=p.name, credits=p.credits, price=MoneyOut.of(p.price))


class PackagesOut(BaseModel):
    packages: list[PackageOut]


class CreateOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package_id: str = Field(min_length=1, max_length=64, examples=["standard"])
    payment_method: PaymentMethod
    return_url: ReturnUrl | None = Field(
        default=None,
        description="Where the payment page sends the customer back (http or https).",
    )


class OrderOut(BaseModel):
    order_id: str
    status: OrderStatus
    package_id: str
    credits: int
    amount: MoneyOut
    payment_method: str
    payment_url: str | None
    provider_session_id: str | None
    expires_at: datetime
    created_at: datetime
    paid_at: datetime | None
    # Money was taken but not the amount ordered: kept paid, flagged for an operator.
    amount_mismatch: bool

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        return cls(
            order_id=o.id,
            status=o.status,
            package_id=o.package_id,
            credits=o.credits,
            amount=MoneyOut.of(o.amount),
            payment_method=o.payment_method,
            payment_url=o.payment_url,
            provider_session_id=o.provider_session_id,
            expires_at=o.expires_at,
            created_at=o.created_at,
            paid_at=o.paid_at,
            amount_mismatch=o.amount_mismatch,
        )


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None
