"""The refunds' SQL: the refunds received (once per refund_key and unit), and what a refund
needs of its order's lots."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from paystream.ledger.refunds.domain import Refund
from paystream.shared.db import Connection


@dataclass(frozen=True, slots=True)
class OrderLot:
    id: uuid.UUID
    unit: str
    credits: int


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What a refund needs of its order: who it was granted to, what was paid, and its lots."""

    user_id: str
    paid_minor: int | None
    paid_currency: str | None
    lots: tuple[OrderLot, ...]
    # What the order cost: the sum of its lots' cost basis, which checkout sets to the price of
    # each line. None when it cannot be read in the paid currency (then refunds are measured
    # against what was paid).
    ordered_minor: int | None = None

    @property
    def units(self) -> list[str]:
        out: list[str] = []
        for lot in self.lots:
            if lot.unit not in out:
                out.append(lot.unit)
        return out


async def order_facts(conn: Connection, order_id: str) -> OrderFacts | None:
    rows = await conn.fetch(
        """
        SELECT l.id, l.unit, l.credits, l.user_id, l.cost_minor, l.cost_currency, t.paid_minor,
               t.paid_currency
        FROM lots l JOIN transactions t ON t.id = l.transaction_id
        WHERE l.order_id = $1 ORDER BY l.order_line
        """,
        order_id,
    )
    if not rows:
        return None
    first = rows[0]
    cost = sum(r["cost_minor"] for r in rows)
    same_currency = all(r["cost_currency"] == first["paid_currency"] for r in rows)
    return OrderFacts(
        user_id=first["user_id"],
        paid_minor=first["paid_minor"],
        paid_currency=first["paid_currency"],
        lots=tuple(OrderLot(r["id"], r["unit"], r["credits"]) for r in rows),
        ordered_minor=cost if cost > 0 and same_currency else None,
    )


async def refund_known(conn: Connection, refund_key: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM refunds WHERE refund_key = $1)", refund_key
    )
    return found


async def refunded_so_far(conn: Connection, order_id: str, unit: str) -> tuple[int, int]:
    """(money refunded, credits owed back in the unit) by the order's refunds applied so far."""
    row = await conn.fetchrow(
        "SELECT coalesce(sum(amount_minor), 0) AS refunded, coalesce(sum(credits_due), 0) AS due"
        " FROM refunds WHERE order_id = $1 AND status = 'applied' AND unit = $2",
        order_id,
        unit,
    )
    assert row is not None
    return int(row["refunded"]), int(row["due"])


# Up to this many orders with waiting refunds are read whole and matched in Python.
_FEW_PENDING = 1000


async def pending_refund_orders(conn: Connection, order_ids: Sequence[str]) -> set[str]:
    """The orders among `order_ids` with refunds waiting for their grant.

    Asked by every grant batch. Refunds wait for a grant rarely and briefly, so reading the
    waiting orders (a partial index, usually empty) and matching them here costs a fraction of
    sending the batch's order ids; the ANY() lookup takes over when many wait.
    """
    rows = await conn.fetch(
        "SELECT DISTINCT order_id FROM refunds WHERE status = 'pending' LIMIT $1",
        _FEW_PENDING + 1,
    )
    if len(rows) <= _FEW_PENDING:
        return {r["order_id"] for r in rows}.intersection(order_ids)
    rows = await conn.fetch(
        "SELECT DISTINCT order_id FROM refunds"
        " WHERE status = 'pending' AND order_id = ANY($1::text[])",
        list(order_ids),
    )
    return {r["order_id"] for r in rows}


async def granted_orders_with_waiting_refunds(conn: Connection, limit: int) -> list[str]:
    """Orders with a refund still `pending` although the order has lots (see
    `service.apply_waiting_refunds`)."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT r.order_id FROM refunds r
        WHERE r.status = 'pending' AND EXISTS (SELECT 1 FROM lots l WHERE l.order_id = r.order_id)
        ORDER BY r.order_id LIMIT $1
        """,
        limit,
    )
    return [r["order_id"] for r in rows]


_REFUND_COLUMNS = """
    seq, id, refund_key, event_id, order_id, user_id, refund_id, provider, provider_refund_id,
    amount_minor, currency, reason, refunded_at, received_at, status, credits_due,
    credits_taken, shortfall, balance_after, transaction_id, applied_at, rejection, unit,
    provider_payment_id
"""


@dataclass(frozen=True, slots=True)
class RefundRow:
    seq: int
    id: uuid.UUID
    refund: Refund
    received_at: datetime
    status: str
    credits_due: int | None
    credits_taken: int | None
    shortfall: int | None
    balance_after: int | None
    transaction_id: uuid.UUID | None
    applied_at: datetime | None
    rejection: str | None
    unit: str | None

    @classmethod
    def of(cls, r: asyncpg.Record) -> RefundRow:
        return cls(
            seq=r["seq"],
            id=r["id"],
            refund=Refund(
                event_id=r["event_id"],
                refund_key=r["refund_key"],
                order_id=r["order_id"],
                user_id=r["user_id"],
                refund_id=r["refund_id"],
                provider=r["provider"],
                provider_refund_id=r["provider_refund_id"],
                amount_minor=r["amount_minor"],
                currency=r["currency"],
                reason=r["reason"],
                refunded_at=r["refunded_at"],
                provider_payment_id=r["provider_payment_id"],
            ),
            received_at=r["received_at"],
            status=r["status"],
            credits_due=r["credits_due"],
            credits_taken=r["credits_taken"],
            shortfall=r["shortfall"],
            balance_after=r["balance_after"],
            transaction_id=r["transaction_id"],
            applied_at=r["applied_at"],
            rejection=r["rejection"],
            unit=r["unit"],
        )


async def pending_refunds_of(conn: Connection, order_id: str) -> list[RefundRow]:
    """The order's refunds waiting for its grant, in the order they arrived, locked."""
    rows = await conn.fetch(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE order_id = $1 AND status = 'pending'"
        " ORDER BY seq FOR UPDATE",
        order_id,
    )
    return [RefundRow.of(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a refund was settled: applied (with what it took) or rejected (with why)."""

    status: str
    credits_due: int | None = None
    credits_taken: int | None = None
    shortfall: int | None = None
    balance_after: int | None = None
    transaction_id: uuid.UUID | None = None
    applied_at: datetime | None = None
    rejection: str | None = None


PENDING = Outcome(status="pending")


async def insert_refund(
    conn: Connection,
    id: uuid.UUID,
    r: Refund,
    outcome: Outcome,
    *,
    unit: str | None = None,
    received_at: datetime | None = None,
) -> bool:
    """Record a refund once per refund_key and unit (none while pending); False if it was
    already known."""
    inserted = await conn.fetchval(
        """
        INSERT INTO refunds (id, refund_key, event_id, order_id, user_id, refund_id, provider,
                             provider_refund_id, amount_minor, currency, reason, refunded_at,
                             status, credits_due, credits_taken, shortfall, balance_after,
                             transaction_id, applied_at, rejection, unit, received_at,
                             provider_payment_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                $19, $20, $21, coalesce($22, clock_timestamp()), $23)
        ON CONFLICT (refund_key, unit) DO NOTHING
        RETURNING true
        """,
        id,
        r.refund_key,
        r.event_id,
        r.order_id,
        r.user_id,
        r.refund_id,
        r.provider,
        r.provider_refund_id,
        r.amount_minor,
        r.currency,
        r.reason,
        r.refunded_at,
        outcome.status,
        outcome.credits_due,
        outcome.credits_taken,
        outcome.shortfall,
        outcome.balance_after,
        outcome.transaction_id,
        outcome.applied_at,
        outcome.rejection,
        unit,
        received_at,
        r.provider_payment_id,
    )
    return bool(inserted)


async def settle_refund(
    conn: Connection, id: uuid.UUID, outcome: Outcome, *, unit: str | None = None
) -> None:
    """A pending refund leaves `pending`, once (the table's trigger refuses anything else)."""
    await conn.execute(
        """
        UPDATE refunds SET status = $2, credits_due = $3, credits_taken = $4, shortfall = $5,
                           balance_after = $6, transaction_id = $7, applied_at = $8,
                           rejection = $9, unit = $10
        WHERE id = $1
        """,
        id,
        outcome.status,
        outcome.credits_due,
        outcome.credits_taken,
        outcome.shortfall,
        outcome.balance_after,
        outcome.transaction_id,
        outcome.applied_at,
        outcome.rejection,
        unit,
    )


async def list_refunds(
    conn: Connection,
    *,
    status: str | None,
    shortfall_only: bool,
    user_id: str | None,
    limit: int,
    before_seq: int | None,
) -> list[RefundRow]:
    """Refunds for operators, newest first, keyset on their arrival sequence."""
    rows = await conn.fetch(
        f"""
        SELECT {_REFUND_COLUMNS} FROM refunds
        WHERE ($1::text IS NULL OR status = $1)
          AND (NOT $2::bool OR shortfall > 0)
          AND ($3::text IS NULL OR user_id = $3)
          AND ($4::bigint IS NULL OR seq < $4)
        ORDER BY seq DESC
        LIMIT $5
        """,
        status,
        shortfall_only,
        user_id,
        before_seq,
        limit,
    )
    return [RefundRow.of(r) for r in rows]


async def record_order_payments(conn: Connection, paid: dict[str, str]) -> None:
    """The payment each order was paid with (order id -> provider payment id), as OrderPaidV1
    said; the first word stands (OrderPaidV1 is announced once per order)."""
    if not paid:
        return
    await conn.execute(
        """
        INSERT INTO order_payments (order_id, provider_payment_id)
        SELECT * FROM unnest($1::text[], $2::text[])
        ON CONFLICT (order_id) DO NOTHING
        """,
        list(paid),
        list(paid.values()),
    )


async def order_payment(conn: Connection, order_id: str) -> str | None:
    """The provider payment the order was paid with, when OrderPaidV1 named one."""
    paid: str | None = await conn.fetchval(
        "SELECT provider_payment_id FROM order_payments WHERE order_id = $1", order_id
    )
    return paid
