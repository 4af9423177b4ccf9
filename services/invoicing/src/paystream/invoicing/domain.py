"""Invoices, credit notes and the pure rules around them: the number formats, the invoicing year,
the line description, what a refund credits. No I/O here, so every rule is unit-tested on its
own."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from paystream.shared.events import InvalidEvent, InvoiceLine
from paystream.shared.money import Money

INVOICE_PREFIX = "INV"
CREDIT_NOTE_PREFIX = "CN"
STATUS_PAID = "paid"
STATUS_PARTIALLY_REFUNDED = "partially_refunded"
STATUS_REFUNDED = "refunded"


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
    # What the order cost, when it differs from what was paid (an amount an operator accepted
    # after review, or an overpayment); None: the same.
    ordered_minor: int | None = None
    lines: tuple[InvoiceLine, ...] = ()
    refunded_minor: int = 0

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def refunded(self) -> Money:
        return Money(self.refunded_minor, self.currency)


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """An invoice before it is issued: the statement that inserts it gives it its number (from
    its year's counter) and the moment it is issued."""

    id: uuid.UUID
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
    # What the order cost, when it differs from what was paid (an amount an operator accepted
    # after review, or an overpayment); None: the same.
    ordered_minor: int | None = None
    lines: tuple[InvoiceLine, ...] = ()

    def issued(self, number: str, at: datetime) -> Invoice:
        return Invoice(
            id=self.id,
            number=number,
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
            ordered_minor=self.ordered_minor,
            lines=self.lines,
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


def format_invoice_number(year: int, sequence: int, prefix: str = INVOICE_PREFIX) -> str:
    """`INV-2026-000001`. Six digits hold 999,999 invoices a year; beyond that the number widens
    rather than refusing to invoice an order that was paid. (The statement that issues invoices
    writes the same numbers in SQL after `number_prefix`; a test pins the two together.)"""
    if sequence < 1:
        raise ValueError(f"invoice sequence starts at 1, got {sequence}")
    return f"{number_prefix(year, prefix)}{sequence:06d}"


def number_prefix(year: int, prefix: str = INVOICE_PREFIX) -> str:
    """`INV-2026-`: what comes before a year's sequence number."""
    if not 1 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")
    return f"{prefix}-{year:04d}-"


def format_credit_note_number(year: int, sequence: int) -> str:
    """`CN-2026-000001`: the credit notes' own series, same shape as the invoices'."""
    return format_invoice_number(year, sequence, CREDIT_NOTE_PREFIX)


def invoice_status(amount_minor: int, refunded_minor: int) -> str:
    """paid, partially_refunded or refunded (the database CHECKs the same rule)."""
    if refunded_minor == 0:
        return STATUS_PAID
    return STATUS_PARTIALLY_REFUNDED if refunded_minor < amount_minor else STATUS_REFUNDED


class RefundRefused(InvalidEvent):
    """A refund that can never be credited against its invoice as it is (other currency, more
    than was paid): an operator must look, so it is dead-lettered, not retried."""


def credits_due_for(credits: int, paid_minor: int, refunded_minor: int) -> int:
    """The credits an order's refunds concern in total once `refunded_minor` of `paid_minor` was
    refunded: floor(credits * refunded / paid), the ledger's revocation rule, so a credit note
    names the credits the ledger revokes (before any shortfall)."""
    if not 0 <= refunded_minor <= paid_minor:
        raise ValueError(f"refunded {refunded_minor} outside 0..{paid_minor}")
    if refunded_minor == paid_minor:
        return credits
    return credits * refunded_minor // paid_minor


def credit_note_credits(
    *,
    credits: int,
    amount_minor: int,
    ordered_minor: int | None = None,
    currency: str,
    refunded_before_minor: int,
    credited_before: int,
    refund_minor: int,
    refund_currency: str,
) -> int:
    """The credits one refund's credit note concerns, given the invoice and its earlier credit
    notes. Cumulative: partial credit notes add up to exactly the invoice's credits once the
    whole amount is refunded. Refuses a refund in another currency or beyond what was paid.

    When more was paid than the order cost (`ordered_minor`), refunds return the difference
    first, and that concerns no credits; the rest is measured against the order's cost. When an
    operator accepted less than the order cost, refunds are measured against what was paid.
    """
    if refund_currency != currency:
        raise RefundRefused(
            f"refund in {refund_currency} for an invoice in {currency}: refused, not converted"
        )
    refunded_after = refunded_before_minor + refund_minor
    if refund_minor <= 0 or refunded_after > amount_minor:
        raise RefundRefused(
            f"refunds of {refunded_after} {currency} exceed the invoiced {amount_minor} {currency}"
        )
    base = min(amount_minor, amount_minor if ordered_minor is None else ordered_minor)
    excess = amount_minor - base
    return (
        credits_due_for(credits, base, min(max(refunded_after - excess, 0), base)) - credited_before
    )


def number_blocks(years: Sequence[int], last_numbers: Mapping[int, int]) -> list[int]:
    """The sequence number of each credit note, given in record order with its year (invoices
    are numbered the same way, in SQL: `repository.ISSUE_INVOICES`).

    Each year's numbers were taken as one block ending at `last_numbers[year]` and as long as
    that year's credit notes; they are handed out in record order, so within a year an earlier
    event gets the smaller number.
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


def describe_lines(lines: Sequence[InvoiceLine]) -> str:
    """The invoice's description: its lines' descriptions (the PDF lists them one by one)."""
    return "; ".join(line.description for line in lines)[:500]


@dataclass(frozen=True, slots=True)
class CreditNote:
    """A refund credited against the invoice of its order."""

    id: uuid.UUID
    number: str
    refund_key: str
    invoice_id: uuid.UUID
    invoice_number: str
    order_id: str
    user_id: str
    amount_minor: int
    currency: str
    credits: int
    reason: str | None
    refund_id: str | None
    provider: str
    provider_refund_id: str
    refunded_at: datetime
    issued_at: datetime
    refund_event_id: uuid.UUID

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)
