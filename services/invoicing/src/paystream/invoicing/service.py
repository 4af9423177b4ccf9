"""What invoicing does: issue one gap-free numbered invoice per paid order, and show invoices to
their owner (or an admin).

Numbering: `INV-<year>-<6 digits>`, one counter row per UTC year of the payment, incremented in
the same transaction as the invoice insert. A transaction that rolls back undoes its increment, so
the next invoice takes the same number: committed numbers never have gaps. A number is only taken
for an order that has no invoice yet, so the second Stripe event for a payment burns nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from paystream.invoicing import repository as repo
from paystream.invoicing.domain import (
    STATUS_PAID,
    Cursor,
    InvalidCursor,
    Invoice,
    as_utc,
    describe,
    format_invoice_number,
    invoicing_year,
)
from paystream.shared.auth import Principal
from paystream.shared.db import Connection
from paystream.shared.errors import BadRequest, Forbidden, NotFound
from paystream.shared.events import PaymentSucceededV1

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PaidOrder:
    """A payment to invoice and the id of the event that reported it."""

    event_id: uuid.UUID
    payment: PaymentSucceededV1


class _AlreadyInvoiced(Exception):
    """Raised inside the savepoint only to roll it back, number included."""


async def issue_invoices(conn: Connection, paid: Sequence[PaidOrder]) -> list[Invoice]:
    """Issue an invoice for each order not invoiced yet, in the order given; returns those issued.

    Runs inside the caller's transaction. Several payments of one order (Stripe's
    checkout.session.completed then payment_intent.succeeded, in one batch or in different ones)
    give one invoice: the first one seen.
    """
    if not paid:
        return []
    if not conn.is_in_transaction():
        raise RuntimeError("issue_invoices must run inside the caller's transaction")
    # One query for the whole batch; orders invoiced earlier in this batch are added as we go.
    invoiced = await repo.invoiced_orders(conn, [p.payment.order_id for p in paid])
    issued: list[Invoice] = []
    for p in paid:
        order_id = p.payment.order_id
        if order_id in invoiced:
            continue
        invoice = await _issue(conn, p)
        invoiced.add(order_id)
        if invoice is not None:
            issued.append(invoice)
    return issued


async def _issue(conn: Connection, paid: PaidOrder) -> Invoice | None:
    pay = paid.payment
    amount = pay.amount()  # an unknown currency fails here, before any number is taken
    year = invoicing_year(pay.paid_at)
    try:
        # A savepoint around number + insert: if another transaction invoiced this order after
        # our check (it committed while we waited for the year's counter lock), the insert does
        # nothing and rolling back to the savepoint gives the number back.
        async with conn.transaction():
            sequence = await repo.next_invoice_number(conn, year)
            invoice = await repo.insert_invoice(
                conn,
                id=uuid.uuid4(),
                number=format_invoice_number(year, sequence),
                order_id=pay.order_id,
                user_id=pay.user_id,
                package_id=pay.package_id,
                description=describe(pay.package_id, pay.credits),
                credits=pay.credits,
                amount_minor=amount.minor,
                currency=amount.currency,
                provider=pay.provider,
                provider_payment_id=pay.provider_payment_id,
                status=STATUS_PAID,
                paid_at=as_utc(pay.paid_at),
                payment_event_id=paid.event_id,
            )
            if invoice is None:
                raise _AlreadyInvoiced
    except _AlreadyInvoiced:
        log.info("invoice_already_issued_concurrently", order_id=pay.order_id)
        return None
    log.info(
        "invoice_issued", number=invoice.number, order_id=invoice.order_id, user_id=pay.user_id
    )
    return invoice


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
    try:
        after = Cursor.decode(cursor) if cursor is not None else None
    except InvalidCursor as exc:
        raise BadRequest(f"invalid cursor: {exc}") from None
    # One row more than asked tells whether a next page exists without a count query.
    rows = await repo.list_invoices(
        conn, user_id=owner, order_id=order_id, after=after, limit=limit + 1
    )
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = Cursor(last.issued_at, last.id).encode()
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
