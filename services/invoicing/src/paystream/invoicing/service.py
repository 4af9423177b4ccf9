"""What invoicing does: issue one gap-free numbered invoice per paid order, a credit note per
refund against that invoice, and show both to their owner (or an admin).

Numbering: `INV-<year>-<6 digits>`, one counter row per UTC year of the payment, incremented (by
a batch's block of numbers) in the same transaction as the invoice insert. A transaction that
rolls back undoes its increment, so the next invoice takes the same number: committed numbers
never have gaps. A number is only taken for an order that has no invoice yet, so the second Stripe
event for a payment burns nothing.

Credit notes: `CN-<year>-<6 digits>`, their own series per UTC year of the refund, numbered the
same way (a block per batch). One per refund_key, whatever number of events announce it. Each
names its invoice, the amount refunded and the credits it concerns (the ledger's arithmetic:
cumulative `floor(credits * refunded_total / paid)`, so an invoice's credit notes add up to its
credits once it is fully refunded). The invoice keeps its refunded total and becomes
`partially_refunded` or `refunded`. A refund for an order not invoiced yet is recorded `pending`
and credited in the batch that issues the invoice, numbered where the invoice comes in the stream.
A refund in another currency than the invoice, or beyond its amount, is refused (InvalidEvent:
dead-lettered); one found only when the invoice arrives is settled `rejected`, so the invoice is
still issued.

`issue_invoices` and `issue_credit_notes` are handed the connection of the consumer's batch
transaction and never commit; the read use cases the endpoints call are handed the pool.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import structlog

from paystream.invoicing import repository as repo
from paystream.invoicing.domain import (
    STATUS_PAID,
    CreditNote,
    Invoice,
    NewInvoice,
    RefundRefused,
    as_utc,
    credit_note_credits,
    describe_lines,
    format_credit_note_number,
    invoicing_year,
    number_blocks,
)
from paystream.invoicing.repository import ReceivedRefund
from paystream.shared.auth import Principal
from paystream.shared.db import Connection, savepoint
from paystream.shared.errors import Forbidden, NotFound
from paystream.shared.events import (
    InvoiceLine,
    OrderPaidV1,
    RefundSucceededV1,
    refunds_another_payment,
    utcnow,
)
from paystream.shared.money import Money
from paystream.shared.pagination import KeysetCursor, keyset_page

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PaidOrder:
    """An order checkout accepted as paid (its facts, what was paid), and the event's id."""

    event_id: uuid.UUID
    payment: OrderPaidV1


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
    invoiced, one statement per year takes that year's numbers and inserts its invoices.
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
        _Draft(p, p.payment.paid(), invoicing_year(p.payment.paid_at))
        for order_id, p in first.items()
        if order_id not in invoiced
    ]
    while drafts:
        try:
            # A savepoint around numbers + insert: if another transaction invoiced one of these
            # orders after our check (it committed while we waited for the year's counter), the
            # insert skips it and rolling back to the savepoint gives every number back.
            async with savepoint(conn):
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
    # Drafted in full before the first counter is locked: the statement that takes a year's
    # numbers holds its counter until the batch commits, and a batch applied beside this one
    # (another replica's, or another lane's) waits for it meanwhile (`repo.ISSUE_INVOICES`).
    by_year: dict[int, list[NewInvoice]] = {}
    for d in drafts:
        by_year.setdefault(d.year, []).append(_new_invoice(d))
    issued: dict[str, Invoice] = {}
    # Counters in year order, the same for every batch: two batches that both span a New Year
    # cannot each hold the lock the other waits for.
    for year in sorted(by_year):
        new = by_year[year]
        numbered = await repo.issue_numbered(conn, year, new)
        if len(numbered) != len(new):
            raise _LostRace
        for n in new:
            issued[n.order_id] = n.issued(*numbered[n.order_id])
        log.info(
            "invoices_issued",
            year=year,
            count=len(new),
            first=issued[new[0].order_id].number,
            last=issued[new[-1].order_id].number,
        )
    return [issued[d.paid.payment.order_id] for d in drafts]


def _new_invoice(draft: _Draft) -> NewInvoice:
    pay = draft.paid.payment
    assert pay.provider is not None, "free allowances are not invoiced (consumers.py)"
    return NewInvoice(
        id=uuid.uuid4(),
        order_id=pay.order_id,
        user_id=pay.user_id,
        package_id=pay.package_id,
        description=describe_lines(pay.lines),
        credits=sum(g.quantity for g in pay.grants),
        amount_minor=draft.amount.minor,
        currency=draft.amount.currency,
        provider=pay.provider,
        provider_payment_id=pay.provider_payment_id,
        status=STATUS_PAID,
        paid_at=as_utc(pay.paid_at),
        payment_event_id=draft.paid.event_id,
        # What the order cost, in the currency billed (an accepted payment in another currency
        # was a mismatch: the invoice bills what was paid, and refunds are measured against it).
        ordered_minor=pay.amount_minor
        if pay.currency == pay.paid_currency and pay.amount_minor != pay.paid_minor
        else None,
        lines=_lines(pay),
    )


def _lines(pay: OrderPaidV1) -> tuple[InvoiceLine, ...]:
    """The order's lines, in the currency billed. A payment an operator accepted in another
    currency than the order's is billed as one line of what was paid."""
    if pay.currency == pay.paid_currency:
        return tuple(pay.lines)
    return (
        InvoiceLine(
            description=f"{describe_lines(pay.lines)} (paid in {pay.paid_currency})",
            quantity=1,
            unit_amount_minor=pay.paid_minor,
            amount_minor=pay.paid_minor,
        ),
    )


@dataclass(frozen=True, slots=True)
class RefundReceived:
    """A refund event and its position in the consumed batch (stream order)."""

    event_id: uuid.UUID
    refund: RefundSucceededV1
    position: int

    def record(self) -> ReceivedRefund:
        r = self.refund
        return ReceivedRefund(
            refund_key=r.refund_key,
            event_id=self.event_id,
            order_id=r.order_id,
            user_id=r.user_id,
            refund_id=r.refund_id,
            provider=r.provider,
            provider_refund_id=r.provider_refund_id,
            provider_payment_id=r.provider_payment_id,
            amount_minor=r.amount_minor,
            currency=r.currency,
            reason=r.reason,
            refunded_at=as_utc(r.refunded_at),
        )


@dataclass(frozen=True, slots=True)
class _Crediting:
    refund: ReceivedRefund
    invoice: Invoice
    # Where the credit note comes in the stream: at its refund, or at its invoice's payment if
    # that came later (a refund that waited); -1 for what is older than the batch.
    position: int
    waited: bool


async def issue_credit_notes(
    conn: Connection,
    refunds: Sequence[RefundReceived],
    *,
    invoiced_now: dict[str, int],
) -> list[CreditNote]:
    """Record the batch's refunds once per refund_key and issue a credit note for each one whose
    order has an invoice, plus those that waited for an invoice issued in this batch
    (`invoiced_now`: order id -> position of its payment in the batch). Numbered in stream order;
    returns the credit notes issued."""
    # The only cost on the payment path: one look in a tiny partial index, and only when the
    # batch issued invoices.
    waiting = await repo.pending_refunds_of(conn, list(invoiced_now)) if invoiced_now else []
    if not refunds and not waiting:
        return []
    first: dict[str, RefundReceived] = {}
    for r in refunds:
        first.setdefault(r.refund.refund_key, r)
    fresh_keys = (
        await repo.record_refunds(conn, [r.record() for r in first.values()]) if first else set()
    )
    fresh = [r for key, r in first.items() if key in fresh_keys]
    orders = sorted({r.refund.order_id for r in fresh} | {w.order_id for w in waiting})
    invoices = await repo.lock_invoices_of_orders(conn, orders)

    candidates = [
        _Crediting(w, invoices[w.order_id], invoiced_now[w.order_id], True) for w in waiting
    ]
    for r in fresh:
        invoice = invoices.get(r.refund.order_id)
        if invoice is None:
            log.warning(
                "refund_waits_for_invoice",
                refund_key=r.refund.refund_key,
                order_id=r.refund.order_id,
            )
            continue
        at = max(r.position, invoiced_now.get(r.refund.order_id, -1))
        candidates.append(_Crediting(r.record(), invoice, at, False))
    # Stable: refunds that waited (in arrival order) before the batch's own at the same place.
    candidates.sort(key=lambda c: (c.position, not c.waited))

    credited = await repo.credited_credits(conn, [c.invoice.id for c in candidates])
    refunded = {c.invoice.id: c.invoice.refunded_minor for c in candidates}
    accepted: list[tuple[_Crediting, int]] = []
    rejected: list[tuple[str, str]] = []
    for c in candidates:
        inv = c.invoice
        if refunds_another_payment(c.refund.provider_payment_id, inv.provider_payment_id):
            # A second payment of the order went back: this invoice was paid by another payment
            # and stands; the refund is recorded, settled, and credits nothing.
            log.info("refund_of_another_payment", refund_key=c.refund.refund_key)
            rejected.append(
                (
                    c.refund.refund_key,
                    f"returns payment {c.refund.provider_payment_id}, not"
                    f" {inv.provider_payment_id} that paid invoice {inv.number}",
                )
            )
            continue
        try:
            credits = credit_note_credits(
                credits=inv.credits,
                amount_minor=inv.amount_minor,
                ordered_minor=inv.ordered_minor,
                currency=inv.currency,
                refunded_before_minor=refunded[inv.id],
                credited_before=credited.get(inv.id, 0),
                refund_minor=c.refund.amount_minor,
                refund_currency=c.refund.currency,
            )
        except RefundRefused as exc:
            if not c.waited:
                raise
            # Refusing here would dead-letter the payment, not the refund: the invoice stands,
            # the refund is settled rejected for an operator.
            log.error("pending_refund_rejected", refund_key=c.refund.refund_key, error=str(exc))
            rejected.append((c.refund.refund_key, str(exc)))
            continue
        refunded[inv.id] += c.refund.amount_minor
        credited[inv.id] = credited.get(inv.id, 0) + credits
        accepted.append((c, credits))

    notes = await _number_credit_notes(conn, accepted)
    if notes:
        await repo.insert_credit_notes(conn, notes)
        deltas: dict[uuid.UUID, int] = {}
        for n in notes:
            deltas[n.invoice_id] = deltas.get(n.invoice_id, 0) + n.amount_minor
        await repo.add_refunded(conn, deltas)
    await repo.settle_refunds(conn, credited=[n.refund_key for n in notes], rejected=rejected)
    return notes


async def settle_waiting_refunds(pool: asyncpg.Pool, limit: int = 100) -> int:
    """Credit (or settle rejected) refunds still `pending` although their order has an invoice;
    returns how many orders had such refunds.

    A refund waits only for an invoice that is not there yet, and the batch that issues it credits
    what waited. Both miss each other only when an order's payment and its refund are applied by
    two processes at once, each transaction blind to the other's uncommitted row. The consumers'
    range assignment and hand-over between batches (`shared.kafka`) keep a user's two topics in
    one process; this settles what a hand-over that ran out of time, or a database from before
    them, left waiting. One transaction per order; the credit note is numbered now.
    """
    async with pool.acquire() as conn:
        orders = await repo.invoiced_orders_with_waiting_refunds(conn, limit)
    for order_id in orders:
        async with pool.acquire() as conn, conn.transaction():
            notes = await issue_credit_notes(conn, [], invoiced_now={order_id: 0})
        log.warning("waiting_refunds_settled", order_id=order_id, credit_notes=len(notes))
    return len(orders)


async def waiting_refunds_loop(pool: asyncpg.Pool, *, every_s: float) -> None:
    """`settle_waiting_refunds` until none is left, every `every_s`."""
    while True:
        try:
            while await settle_waiting_refunds(pool):
                pass
        except Exception:
            # Housekeeping: the next round retries.
            log.exception("waiting_refunds_failed")
        await asyncio.sleep(every_s)


async def _number_credit_notes(
    conn: Connection, accepted: list[tuple[_Crediting, int]]
) -> list[CreditNote]:
    if not accepted:
        return []
    years = [invoicing_year(c.refund.refunded_at) for c, _ in accepted]
    counts = Counter(years)
    # Years in ascending order, like invoices: concurrent batches cannot deadlock on counters.
    last_numbers = {
        year: await repo.take_credit_note_numbers(conn, year, counts[year])
        for year in sorted(counts)
    }
    sequences = number_blocks(years, last_numbers)
    now = utcnow()
    notes = [
        CreditNote(
            id=uuid.uuid4(),
            number=format_credit_note_number(year, sequence),
            refund_key=c.refund.refund_key,
            invoice_id=c.invoice.id,
            invoice_number=c.invoice.number,
            order_id=c.invoice.order_id,
            user_id=c.invoice.user_id,
            amount_minor=c.refund.amount_minor,
            currency=c.refund.currency,
            credits=credits,
            reason=c.refund.reason,
            refund_id=c.refund.refund_id,
            provider=c.refund.provider,
            provider_refund_id=c.refund.provider_refund_id,
            refunded_at=c.refund.refunded_at,
            # A microsecond apart, so the credit notes of a batch list in their issuing order.
            issued_at=now + timedelta(microseconds=i),
            refund_event_id=c.refund.event_id,
        )
        for i, ((c, credits), year, sequence) in enumerate(
            zip(accepted, years, sequences, strict=True)
        )
    ]
    log.info("credit_notes_issued", count=len(notes), numbers=[n.number for n in notes])
    return notes


@dataclass(frozen=True, slots=True)
class InvoicePage:
    items: list[Invoice]
    next_cursor: str | None
    # The credit notes of the page's invoices that have any.
    credit_notes: dict[uuid.UUID, list[CreditNote]] = field(default_factory=dict)


async def list_invoices(
    pool: asyncpg.Pool,
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
    async with pool.acquire() as conn:
        # One row more than asked tells whether a next page exists without a count query.
        rows = await repo.list_invoices(
            conn, user_id=owner, order_id=order_id, after=after, limit=limit + 1
        )
        items, next_cursor = keyset_page(rows, limit, lambda i: KeysetCursor(i.issued_at, i.id))
        notes = await credit_notes_of(conn, items)
    return InvoicePage(items, next_cursor, notes)


async def get_invoice(
    pool: asyncpg.Pool, principal: Principal, invoice_id: str
) -> tuple[Invoice, list[CreditNote] | None]:
    """The invoice and its credit notes if the caller owns it or is an admin; otherwise
    NotFound, whether it exists or not, so ids of other users' invoices cannot be probed."""
    try:
        ident = uuid.UUID(invoice_id)
    except ValueError:
        raise NotFound("invoice not found") from None
    async with pool.acquire() as conn:
        invoice = await repo.get_invoice(conn, ident)
        if invoice is None or not (principal.is_admin or invoice.user_id == principal.user_id):
            raise NotFound("invoice not found")
        notes = await credit_notes_of(conn, [invoice])
    return invoice, notes.get(invoice.id)


async def credit_notes_of(
    conn: Connection, invoices: Sequence[Invoice]
) -> dict[uuid.UUID, list[CreditNote]]:
    """The credit notes of the invoices that have any (no query when none was refunded)."""
    refunded = [i.id for i in invoices if i.refunded_minor > 0]
    if not refunded:
        return {}
    return await repo.credit_notes_of_invoices(conn, refunded)


@dataclass(frozen=True, slots=True)
class CreditNotePage:
    items: list[CreditNote]
    next_cursor: str | None


async def list_credit_notes(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None = None,
    invoice_id: uuid.UUID | None = None,
    user_id: str | None = None,
    order_id: str | None = None,
) -> CreditNotePage:
    """The caller's credit notes, newest first; an admin sees everyone's, optionally one user's."""
    if principal.is_admin:
        owner = user_id
    elif user_id is not None and user_id != principal.user_id:
        raise Forbidden("only an admin may list another user's credit notes")
    else:
        owner = principal.user_id
    after = KeysetCursor.from_query(cursor)
    async with pool.acquire() as conn:
        rows = await repo.list_credit_notes(
            conn,
            user_id=owner,
            invoice_id=invoice_id,
            order_id=order_id,
            after=after,
            limit=limit + 1,
        )
    items, next_cursor = keyset_page(rows, limit, lambda n: KeysetCursor(n.issued_at, n.id))
    return CreditNotePage(items, next_cursor)


async def get_credit_note(
    pool: asyncpg.Pool, principal: Principal, credit_note_id: str
) -> CreditNote:
    """The credit note if the caller owns it or is an admin; NotFound otherwise, whether it
    exists or not."""
    try:
        ident = uuid.UUID(credit_note_id)
    except ValueError:
        raise NotFound("credit note not found") from None
    async with pool.acquire() as conn:
        note = await repo.get_credit_note(conn, ident)
    if note is None or not (principal.is_admin or note.user_id == principal.user_id):
        raise NotFound("credit note not found")
    return note
