"""What invoicing does: issue one gap-free numbered invoice per paid order, and show invoices to
their owner (or an admin).

Numbering: `INV-<year>-<6 digits>`, one counter row per UTC year of the payment, incremented (by
a batch's block of numbers) in the same transaction as the invoice insert. A transaction that
rolls back undoes its increment, so the next invoice takes the same number: committed numbers
never have gaps. A number is only taken for an order that has no invoice yet, so the second Stripe
event for a payment burns nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import structlog

from paystream.invoicing import repository as repo
from paystream.invoicing.domain import (
    STATUS_PAID,
    Invoice,
    NewInvoice,
    as_utc,
    describe,
    format_invoice_number,
    invoicing_year,
    number_blocks,
)
from paystream.shared.auth import Principal
from paystream.shared.db import Connection
from paystream.shared.errors import Forbidden, NotFound
from paystream.shared.events import PaymentSucceededV1
from paystream.shared.money import Money
from paystream.shared.pagination import KeysetCursor

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PaidOrder:
    """A payment to invoice and the id of the event that reported it."""

    event_id: uuid.UUID
    payment: PaymentSucceededV1


class ConcurrentInvoicing(asyncpg.SerializationError):
    """Another transaction invoiced one of the batch's orders while this one took numbers, and a
    second look does not show that invoice (only possible above READ COMMITTED).

    A serialization failure on purpose: the shared BatchConsumer retries those on the whole
    batch after the rollback (numbers given back) instead of isolating its events one by one on
    the way to the dead-letter topic; on retry the duplicate check sees the other invoice.
    """


class _LostRace(Exception):
    """Raised inside the savepoint only to roll it back, numbers included."""


@dataclass(frozen=True, slots=True)
class _Draft:
    paid: PaidOrder
    amount: Money
    year: int


async def issue_invoices(conn: Connection, paid: Sequence[PaidOrder]) -> list[Invoice]:
    """Issue an invoice for each order not invoiced yet, in the order given; returns those issued.

    Runs inside the caller's transaction. Several payments of one order (Stripe's
    checkout.session.completed then payment_intent.succeeded, in one batch or in different ones)
    give one invoice: the first one seen. Set-based: one query finds the orders already
    invoiced, one statement per year takes that year's numbers, one statement inserts.
    """
    if not paid:
        return []
    if not conn.is_in_transaction():
        raise RuntimeError("issue_invoices must run inside the caller's transaction")
    first: dict[str, PaidOrder] = {}
    for p in paid:
        first.setdefault(p.payment.order_id, p)
    # Duplicates go before any number is taken, so they never burn one nor wait for the
    # year's counter.
    invoiced = await repo.invoiced_orders(conn, list(first))
    drafts = [
        # An unknown currency fails here, before any number is taken.
        _Draft(p, p.payment.amount(), invoicing_year(p.payment.paid_at))
        for order_id, p in first.items()
        if order_id not in invoiced
    ]
    while drafts:
        try:
            # A savepoint around numbers + insert: if another transaction invoiced one of these
            # orders after our check (it committed while we waited for the year's counter), the
            # insert skips it and rolling back to the savepoint gives every number back.
            async with conn.transaction():
                return await _issue(conn, drafts)
        except _LostRace:
            # Each statement sees what committed before it: the other invoice shows now.
            raced = await repo.invoiced_orders(conn, [d.paid.payment.order_id for d in drafts])
            if not raced:
                raise ConcurrentInvoicing(
                    "an order of the batch was invoiced concurrently"
                ) from None
            log.info("invoice_already_issued_concurrently", order_ids=sorted(raced))
            # Each round drops at least one order, so this ends.
            drafts = [d for d in drafts if d.paid.payment.order_id not in raced]
    return []


async def _issue(conn: Connection, drafts: list[_Draft]) -> list[Invoice]:
    counts = Counter(d.year for d in drafts)
    last_numbers = {
        # Counters in year order, the same for every batch: two batches that both span a New
        # Year cannot each hold the lock the other waits for.
        year: await repo.take_invoice_numbers(conn, year, counts[year])
        for year in sorted(counts)
    }
    sequences = number_blocks([d.year for d in drafts], last_numbers)
    new = [_numbered(d, sequence) for d, sequence in zip(drafts, sequences, strict=True)]
    issued_at = await repo.insert_invoices(conn, new)
    if len(issued_at) != len(new):
        raise _LostRace
    for year in sorted(counts):
        log.info(
            "invoices_issued",
            year=year,
            count=counts[year],
            first=format_invoice_number(year, last_numbers[year] - counts[year] + 1),
            last=format_invoice_number(year, last_numbers[year]),
        )
    return [n.issued(issued_at[n.order_id]) for n in new]


def _numbered(draft: _Draft, sequence: int) -> NewInvoice:
    pay = draft.paid.payment
    return NewInvoice(
        id=uuid.uuid4(),
        number=format_invoice_number(draft.year, sequence),
        order_id=pay.order_id,
        user_id=pay.user_id,
        package_id=pay.package_id,
        description=describe(pay.package_id, pay.credits),
        credits=pay.credits,
        amount_minor=draft.amount.minor,
        currency=draft.amount.currency,
        provider=pay.provider,
        provider_payment_id=pay.provider_payment_id,
        status=STATUS_PAID,
        paid_at=as_utc(pay.paid_at),
        payment_event_id=draft.paid.event_id,
    )


@dataclass(frozen=True, slots=True)
class InvoicePage:
    items: list[Invoice]
    next_cursor: str | None


async def list_invoices(
    conn: Connection,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None = None,
    order_id: str | None = None,
    user_id: str | None = None,
) -> InvoicePage:
    """The caller's invoices, newest first; an admin sees everyone's, optionally one user's."""
    if principal.is_admin:
        owner = user_id
    elif user_id is not None and user_id != principal.user_id:
        raise Forbidden("only an admin may list another user's invoices")
    else:
        owner = principal.user_id
    after = KeysetCursor.from_query(cursor)
    # One row more than asked tells whether a next page exists without a count query.
    rows = await repo.list_invoices(
        conn, user_id=owner, order_id=order_id, after=after, limit=limit + 1
    )
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = KeysetCursor(last.issued_at, last.id).encode()
    return InvoicePage(items, next_cursor)


async def get_invoice(conn: Connection, principal: Principal, invoice_id: str) -> Invoice:
    """The invoice if the caller owns it or is an admin; otherwise NotFound, whether it exists
    or not, so ids of other users' invoices cannot be probed."""
    try:
        ident = uuid.UUID(invoice_id)
    except ValueError:
        raise NotFound("invoice not found") from None
    invoice = await repo.get_invoice(conn, ident)
    if invoice is None or not (principal.is_admin or invoice.user_id == principal.user_id):
        raise NotFound("invoice not found")
    return invoice
