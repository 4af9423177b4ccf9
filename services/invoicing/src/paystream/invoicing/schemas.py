"""HTTP response models of the invoicing API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from paystream.invoicing.domain import CreditNote, Invoice
from paystream.shared.schemas import MoneyOut


class CreditNoteRef(BaseModel):
    """A credit note as listed on its invoice."""

    id: uuid.UUID
    number: str = Field(examples=["CN-2026-000001"])
    amount: MoneyOut
    credits: int
    issued_at: datetime

    @classmethod
    def of(cls, note: CreditNote) -> CreditNoteRef:
        return cls(
            id=note.id,
            number=note.number,
            amount=MoneyOut.of(note.amount),
            credits=note.credits,
            issued_at=note.issued_at,
        )


class InvoiceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f1e2d4c-6b5a-4978-8e1d-2c3b4a596877",
                    "number": "INV-2026-000123",
                    "order_id": "0b6a1f9e-3c1d-4f7a-9d47-2f1c8b7a6e51",
                    "user_id": "user-42",
                    "package_id": "standard",
                    "description": "standard: 1,100 credits",
                    "credits": 1100,
                    "amount": {"value": "100.00", "currency": "CNY"},
                    "provider": "alipay",
                    "provider_payment_id": "2026110122001400000000000001",
                    "status": "partially_refunded",
                    "refunded": {"value": "30.00", "currency": "CNY"},
                    "credit_notes": [
                        {
                            "id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
                            "number": "CN-2026-000007",
                            "amount": {"value": "30.00", "currency": "CNY"},
                            "credits": 330,
                            "issued_at": "2026-11-02T09:00:03Z",
                        }
                    ],
                    "paid_at": "2026-11-01T08:02:10Z",
                    "issued_at": "2026-11-01T08:02:11Z",
                }
            ]
        }
    )

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
    status: str = Field(
        examples=["paid"], description="paid, partially_refunded or refunded (see credit_notes)"
    )
    refunded: MoneyOut = Field(description="the total of the invoice's credit notes")
    credit_notes: list[CreditNoteRef] = Field(description="oldest first")
    paid_at: datetime
    issued_at: datetime

    @classmethod
    def of(cls, invoice: Invoice, credit_notes: list[CreditNote] | None = None) -> InvoiceOut:
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
            refunded=MoneyOut.of(invoice.refunded),
            credit_notes=[CreditNoteRef.of(n) for n in credit_notes or []],
            paid_at=invoice.paid_at,
            issued_at=invoice.issued_at,
        )


class InvoiceList(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class CreditNoteOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
                    "number": "CN-2026-000007",
                    "invoice_id": "3f1e2d4c-6b5a-4978-8e1d-2c3b4a596877",
                    "invoice_number": "INV-2026-000123",
                    "order_id": "0b6a1f9e-3c1d-4f7a-9d47-2f1c8b7a6e51",
                    "user_id": "user-42",
                    "amount": {"value": "30.00", "currency": "CNY"},
                    "credits": 330,
                    "reason": "requested_by_customer",
                    "refund_key": "alipay:5d0c7e2a-8b1f-4e6d-a3c9-1f7b2e4d6a80",
                    "refund_id": "5d0c7e2a-8b1f-4e6d-a3c9-1f7b2e4d6a80",
                    "provider": "alipay",
                    "provider_refund_id": "5d0c7e2a-8b1f-4e6d-a3c9-1f7b2e4d6a80",
                    "refunded_at": "2026-11-02T09:00:02Z",
                    "issued_at": "2026-11-02T09:00:03Z",
                }
            ]
        }
    )

    id: uuid.UUID
    number: str = Field(examples=["CN-2026-000001"])
    invoice_id: uuid.UUID
    invoice_number: str = Field(examples=["INV-2026-000001"])
    order_id: str
    user_id: str
    amount: MoneyOut = Field(description="the amount refunded")
    credits: int = Field(
        description="the credits this refund concerns: its share of the invoice's credits"
    )
    reason: str | None
    refund_key: str = Field(examples=["stripe:re_123"])
    refund_id: str | None = Field(description="paystream's refund, when made through the API")
    provider: str
    provider_refund_id: str
    refunded_at: datetime
    issued_at: datetime

    @classmethod
    def of(cls, note: CreditNote) -> CreditNoteOut:
        return cls(
            id=note.id,
            number=note.number,
            invoice_id=note.invoice_id,
            invoice_number=note.invoice_number,
            order_id=note.order_id,
            user_id=note.user_id,
            amount=MoneyOut.of(note.amount),
            credits=note.credits,
            reason=note.reason,
            refund_key=note.refund_key,
            refund_id=note.refund_id,
            provider=note.provider,
            provider_refund_id=note.provider_refund_id,
            refunded_at=note.refunded_at,
            issued_at=note.issued_at,
        )


class CreditNoteList(BaseModel):
    items: list[CreditNoteOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )
