"""HTTP bodies of saved payment methods."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from paystream.checkout.payment_methods.repository import SavedMethod


class SetupOut(BaseModel):
    setup_intent_id: str
    client_secret: str
    customer_id: str


class SavedMethodOut(BaseModel):
    id: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    default: bool
    attached_at: datetime

    @classmethod
    def of(cls, m: SavedMethod) -> SavedMethodOut:
        return cls(
            id=m.id,
            type=m.type,
            brand=m.brand,
            last4=m.last4,
            exp_month=m.exp_month,
            exp_year=m.exp_year,
            default=m.is_default,
            attached_at=m.attached_at,
        )


class SavedMethodList(BaseModel):
    items: list[SavedMethodOut]
