"""Invoices and the pure rules around them: the number format, the invoicing year, the line
description. No I/O here, so every rule is unit-tested on its own."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from paystream.shared.money import Money

INVOICE_PREFIX = "INV"
STATUS_PAID = "paid"


@dataclass(frozen=True, slots=True)
class Invoice:
    id: uuid.UUID
    number: str
    order_id: str
    user_id: str
    package_id: str | None
    description: str
    credits: int
    amount_minor: int
    currency: str
    provider: str
    provider_payment_id: str | None
    status: str
    paid_at: datetime
    issued_at: datetime
    payment_event_id: uuid.UUID

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """An invoice with its number, before the database stamps the moment it is issued."""

    id: uuid.UUID
    number: str
    order_id: str
    user_id: str
    package_id: str | None
    description: str
    credits: int
    amount_minor: int
    currency: str
    provider: str
    provider_payment_id: str | None
    status: str
    paid_at: datetime
    payment_event_id: uuid.UUID

    def issued(self, at: datetime) -> Invoice:
        return Invoice(
            id=self.id,
            number=self.number,
            order_id=self.order_id,
            user_id=self.user_id,
            package_id=self.package_id,
            description=self.description,
            credits=self.credits,
            amount_minor=self.amount_minor,
            currency=self.currency,
            provider=self.provider,
            provider_payment_id=self.provider_payment_id,
            status=self.status,
            paid_at=self.paid_at,
            issued_at=at,
            payment_event_id=self.payment_event_id,
        )


def as_utc(moment: datetime) -> datetime:
    """The instant in UTC; a naive time is taken as UTC, the convention of every paystream event."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def invoicing_year(paid_at: datetime) -> int:
    """Invoices are numbered per UTC year of the payment, not of the moment we issue them, so a
    payment at 23:59:59 on 31 December stays in that year even if its event arrives later."""
    return as_utc(paid_at).year


def format_invoice_number(year: int, sequence: int) -> str:
    """`INV-2026-000001`. Six digits hold 999,999 invoices a year; beyond that the number widens
    rather than refusing to invoice an order that was paid."""
    if not 1 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")
    if sequence < 1:
        raise ValueError(f"invoice sequence starts at 1, got {sequence}")
    return f"{INVOICE_PREFIX}-{year:04d}-{sequence:06d}"


def number_blocks(years: Sequence[int], last_numbers: Mapping[int, int]) -> list[int]:
    """The sequence number of each invoice, given in record order with its year.

    Each year's numbers were taken as one block ending at `last_numbers[year]` and as long as
    that year's invoices; they are handed out in record order, so within a year an earlier event
    gets the smaller number.
    """
    counts = Counter(years)
    following = {year: last_numbers[year] - count + 1 for year, count in counts.items()}
    sequences = []
    for year in years:
        sequences.append(following[year])
        following[year] += 1
    return sequences


def describe(package_id: str | None, credits: int) -> str:
    """The invoice line: `standard — 1,100 credits`."""
    unit = "credit" if credits == 1 else "credits"
    quantity = f"{credits:,} {unit}"
    return f"{package_id} — {quantity}" if package_id else quantity
