"""HTTP bodies of quotes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from paystream.checkout.catalog.schemas import Currency
from paystream.checkout.orders.schemas import GrantOut, LineOut
from paystream.shared.schemas import MoneyIn, MoneyOut

ItemId = Field(default=None, min_length=1, max_length=64)


class QuoteIn(BaseModel):
    """Price a purchase: a package, a quantity of a unit product, or a custom amount of it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"product_id": "receives", "quantity": 20, "currency": "CNY"},
                {"product_id": "credits", "amount": {"value": "100.00", "currency": "CNY"}},
                {"package_id": "standard", "currency": "USD"},
            ]
        },
    )

    package_id: str | None = Field(default=None, min_length=1, max_length=64)
    product_id: str | None = Field(default=None, min_length=1, max_length=64, examples=["receives"])
    # Any integer is taken here: the product says which quantities it sells
    # (`quantity_out_of_range`).
    quantity: StrictInt | None = Field(default=None, ge=-(10**9), le=10**9, examples=[20])
    amount: MoneyIn | None = Field(default=None, description="a custom amount")
    currency: Currency | None = Field(
        default=None,
        description="for a package or a quantity; by default the item's first currency",
    )

    @model_validator(mode="after")
    def _one_purchase(self) -> QuoteIn:
        if (self.package_id is None) == (self.product_id is None):
            raise ValueError("give exactly one of package_id or product_id")
        if self.package_id is not None and (self.quantity is not None or self.amount is not None):
            raise ValueError("a package has its own quantity and price")
        if self.product_id is not None and (self.quantity is None) == (self.amount is None):
            raise ValueError("give exactly one of quantity or amount for a product")
        if (
            self.amount is not None
            and self.currency is not None
            and self.currency.upper() != self.amount.currency.upper()
        ):
            raise ValueError("currency and amount.currency differ")
        return self


class QuoteOut(BaseModel):
    quote_id: str
    kind: Literal["package", "quantity", "custom_amount"]
    item_id: str = Field(description="the package or product priced")
    unit: str
    quantity: int = Field(description="units the order will grant")
    amount: MoneyOut = Field(description="what the order will charge, exactly")
    unit_amount: MoneyOut | None = Field(description="per unit, for a quantity")
    rule: str = Field(description="what priced it: `tier 20-100 at 1.60`, a rate, the package")
    lines: list[LineOut] = Field(description="the order's and the invoice's lines")
    grants: list[GrantOut]
    expires_at: datetime
    token: str = Field(
        description="present it as `quote` in POST /v1/orders; signed, so it "
        "cannot be altered, and valid until expires_at"
    )
