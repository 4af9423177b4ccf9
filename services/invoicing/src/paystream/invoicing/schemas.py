"""HTTP response models of the invoicing API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from paystream.invoicing.domain import Invoice
from paystream.shared.schemas import MoneyOut


class InvoiceOut(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["INV-2026-000001"])
    order_id: str
    user_id: str
    package_id: str | None
    description: str = Field(examples=["standard — 1,100 credits"])
    credits: int
    amount: MoneyOut
    provider: str
    provider_payment_id: str | None
    status: str = Field(examples=["paid"])
    paid_at: datetime
    issued_at: datetime

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls(
            id=invoice.id,
            number=invoice.number,
            order_id=invoice.order_id,
            user_id=invoice.user_id,
            package_id=invoice.package_id,
            description=invoice.description,
            credits=invoice.credits,
            amount=MoneyOut.of(invoice.amount),
            provider=invoice.provider,
            provider_payment_id=invoice.provider_payment_id,
            status=invoice.status,
            paid_at=invoice.paid_at,
            issued_at=invoice.issued_at,
        )


class InvoiceList(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )
