"""Response bodies of the revenue statistics."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from paystream.shared.schemas import MoneyOut


class RevenueRow(BaseModel):
    day: date = Field(description="UTC day of the payment (invoices) or refund (credit notes)")
    provider: str = Field(examples=["alipay"])
    currency: str
    invoices: int
    revenue: MoneyOut = Field(description="invoiced that day (what was paid)")
    credit_notes: int
    refunds: MoneyOut = Field(description="credited back that day")
    net: MoneyOut


class RevenueTotal(BaseModel):
    provider: str
    currency: str
    invoices: int
    revenue: MoneyOut
    credit_notes: int
    refunds: MoneyOut
    net: MoneyOut


class RevenueStats(BaseModel):
    since: date
    until: date
    days: list[RevenueRow]
    totals: list[RevenueTotal] = Field(description="per provider and currency over the period")
