"""The documents' use cases: billing profiles, the seller's details, and what a PDF of an
invoice or a credit note says (from the stored document and the parties captured on it when it
was issued). Use cases take the pool; the document builders are pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from paystream.invoicing import service as invoices
from paystream.invoicing.documents import repository as repo
from paystream.invoicing.documents.render import (
    PROVIDER_NAMES,
    Document,
    Line,
    Party,
    Tax,
    date_text,
)
from paystream.invoicing.domain import CreditNote, Invoice
from paystream.invoicing.settings import InvoicingSettings
from paystream.shared.auth import Principal
from paystream.shared.money import Money

STATUS_TEXT = {
    "paid": "Paid",
    "partially_refunded": "Paid, partially refunded",
    "refunded": "Paid, refunded",
}


def seller_details(s: InvoicingSettings) -> dict[str, Any]:
    """The seller as configured, in the shape captured on documents."""
    return {
        "name": s.seller_name,
        "address": s.seller_address,
        "tax_id": s.seller_tax_id,
        "email": s.seller_email,
        "tax_name": s.tax_name,
        "tax_rate_bp": s.tax_rate_bp if s.tax_name else 0,
    }


def _seller(snapshot: dict[str, Any] | None, fallback: dict[str, Any]) -> Party:
    # Documents issued before sellers were captured show the seller as configured now.
    return Party.of(snapshot or fallback, name_key="name", fallback="Seller")


def _buyer(snapshot: dict[str, Any] | None, user_id: str) -> Party:
    return Party.of(snapshot, name_key="company_name", fallback=f"Customer {user_id}")


def _payment(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


def invoice_document(
    invoice: Invoice,
    credit_notes: list[CreditNote],
    *,
    buyer: dict[str, Any] | None,
    seller: dict[str, Any] | None,
    configured_seller: dict[str, Any],
) -> Document:
    facts = [
        ("Invoice number", invoice.number),
        ("Issue date", date_text(invoice.issued_at)),
        ("Payment date", date_text(invoice.paid_at)),
        ("Order", invoice.order_id),
        ("Payment method", _payment(invoice.provider)),
        ("Payment reference", invoice.provider_payment_id or "-"),
        ("Status", STATUS_TEXT.get(invoice.status, invoice.status)),
    ]
    notes = [
        f"Corrected by credit note {n.number} of {date_text(n.issued_at)}" for n in credit_notes
    ]
    return Document(
        kind="Invoice",
        number=invoice.number,
        seller=_seller(seller, configured_seller),
        buyer=_buyer(buyer, invoice.user_id),
        facts=facts,
        lines=invoice_lines(invoice),
        total=invoice.amount,
        tax=Tax.of(seller or configured_seller),
        notes=notes,
        issued_at=invoice.issued_at,
    )


def invoice_lines(invoice: Invoice) -> list[Line]:
    """The order's lines, and where what was paid differs from them (an overpayment, an amount an
    operator accepted after review), one line for the difference: the lines add up to the total."""
    cur = invoice.currency
    lines = [
        Line(
            line.description,
            line.quantity,
            Money(line.unit_amount_minor, cur),
            Money(line.amount_minor, cur),
        )
        for line in invoice.lines
    ] or [Line(invoice.description, 1, invoice.amount, invoice.amount)]
    difference = invoice.amount_minor - sum(line.amount.minor for line in lines)
    if difference:
        label = "Paid above the order's amount" if difference > 0 else "Accepted short payment"
        lines.append(Line(label, 1, Money(difference, cur), Money(difference, cur)))
    return lines


def credit_note_document(
    note: CreditNote,
    *,
    invoice_issued_at: datetime | None,
    buyer: dict[str, Any] | None,
    seller: dict[str, Any] | None,
    configured_seller: dict[str, Any],
) -> Document:
    corrects = note.invoice_number + (
        f" of {date_text(invoice_issued_at)}" if invoice_issued_at else ""
    )
    credits = f"{note.credits:,} credit{'' if note.credits == 1 else 's'}"
    facts = [
        ("Credit note number", note.number),
        ("Issue date", date_text(note.issued_at)),
        ("Refund date", date_text(note.refunded_at)),
        ("Corrects invoice", corrects),
        ("Order", note.order_id),
        ("Reason", note.reason or "-"),
        ("Payment method", _payment(note.provider)),
        ("Refund reference", note.provider_refund_id),
    ]
    amount = Money(note.amount_minor, note.currency)
    return Document(
        kind="Credit note",
        number=note.number,
        seller=_seller(seller, configured_seller),
        buyer=_buyer(buyer, note.user_id),
        facts=facts,
        lines=[Line(f"Refund of {note.invoice_number} — {credits}", 1, amount, amount)],
        total=amount,
        tax=Tax.of(seller or configured_seller),
        notes=[
            f"This credit note reduces invoice {note.invoice_number} by {amount.format()} "
            f"{amount.currency}."
        ],
        issued_at=note.issued_at,
    )


async def record_seller(pool: asyncpg.Pool, details: dict[str, Any]) -> None:
    """Documents issued from now on capture these seller details (migration 0003's trigger)."""
    async with pool.acquire() as conn:
        await repo.put_seller(conn, details)


async def get_profile(pool: asyncpg.Pool, user_id: str) -> repo.BillingProfile | None:
    async with pool.acquire() as conn:
        return await repo.get_profile(conn, user_id)


async def save_profile(
    pool: asyncpg.Pool, user_id: str, *, company_name: str, address: str, tax_id: str, email: str
) -> repo.BillingProfile:
    async with pool.acquire() as conn:
        return await repo.put_profile(
            conn, user_id, company_name=company_name, address=address, tax_id=tax_id, email=email
        )


async def invoice_pdf_document(
    pool: asyncpg.Pool, principal: Principal, invoice_id: str, configured_seller: dict[str, Any]
) -> Document:
    """The invoice's document, if the caller owns it or is an admin (NotFound otherwise)."""
    invoice, notes = await invoices.get_invoice(pool, principal, invoice_id)
    async with pool.acquire() as conn:
        buyer, seller = await repo.invoice_parties(conn, invoice.id)
    return invoice_document(
        invoice, notes or [], buyer=buyer, seller=seller, configured_seller=configured_seller
    )


async def credit_note_pdf_document(
    pool: asyncpg.Pool, principal: Principal, credit_note_id: str, configured_seller: dict[str, Any]
) -> Document:
    """The credit note's document, if the caller owns it or is an admin (NotFound otherwise)."""
    note = await invoices.get_credit_note(pool, principal, credit_note_id)
    async with pool.acquire() as conn:
        buyer, seller, invoice_issued_at = await repo.credit_note_parties(conn, note.id)
    return credit_note_document(
        note,
        invoice_issued_at=invoice_issued_at,
        buyer=buyer,
        seller=seller,
        configured_seller=configured_seller,
    )
