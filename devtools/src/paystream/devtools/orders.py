"""Orders for tests and benchmarks: placed in checkout's database as checkout places them (for
payments sent through the whole stack), or OrderPaidV1 as checkout publishes it (to feed the
ledger and invoicing without checkout). One package line, one lot of credits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from paystream.shared.events import GrantSpec, InvoiceLine, OrderPaidV1, Provider


@dataclass(frozen=True, slots=True)
class SeedOrder:
    order_id: str  # a UUID, as checkout's
    user_id: str
    credits: int
    amount_minor: int


# A pending `standard` order per row, with what it grants (one lot for six months) and charges.
_PLACE_ORDERS = """
INSERT INTO orders (id, user_id, package_id, credits, amount_minor, currency, payment_method,
    status, expires_at, grants, lines)
SELECT o.id, o.user_id, 'standard', o.credits, o.amount, $5, 'stripe_checkout', 'pending',
    now() + interval '1 day',
    jsonb_build_array(jsonb_build_object('unit', 'credits', 'quantity', o.credits,
        'source', 'purchase', 'validity', 'P6M', 'expires_at', NULL, 'priority', 50,
        'cost_minor', o.amount)),
    jsonb_build_array(jsonb_build_object('description',
        'standard — ' || to_char(o.credits, 'FM999,999,999') || ' credits', 'quantity', 1,
        'unit_amount_minor', o.amount, 'amount_minor', o.amount))
FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[]) AS o (id, user_id, credits, amount)
ON CONFLICT (id) DO NOTHING
"""


async def place_orders(dsn: str, orders: Iterable[SeedOrder], *, currency: str = "CNY") -> None:
    """Place the orders a test or benchmark will pay for, straight into checkout's database
    (no provider session: the payments are sent as the provider's webhooks)."""
    rows = list(orders)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(
            _PLACE_ORDERS,
            [uuid.UUID(o.order_id) for o in rows],
            [o.user_id for o in rows],
            [o.credits for o in rows],
            [o.amount_minor for o in rows],
            currency,
        )
    finally:
        await conn.close()


def order_paid(
    order_id: str,
    user_id: str,
    *,
    credits: int = 1100,
    amount_minor: int = 10_000,
    currency: str = "CNY",
    paid_minor: int | None = None,
    package_id: str | None = "standard",
    provider: Provider = "stripe",
    payment_method: str = "stripe_checkout",
    provider_event_id: str | None = None,
    provider_payment_id: str | None = None,
    validity: str | None = "P6M",
    paid_at: datetime | None = None,
) -> OrderPaidV1:
    description = f"{package_id or 'credits'} — {credits:,} credits"
    return OrderPaidV1(
        order_id=order_id,
        user_id=user_id,
        package_id=package_id,
        grants=(
            [GrantSpec(quantity=credits, validity=validity, cost_minor=amount_minor)]
            if credits > 0
            else []
        ),
        lines=[
            InvoiceLine(
                description=description,
                quantity=1,
                unit_amount_minor=amount_minor,
                amount_minor=amount_minor,
            )
        ],
        amount_minor=amount_minor,
        currency=currency,
        paid_minor=amount_minor if paid_minor is None else paid_minor,
        paid_currency=currency,
        provider=provider,
        payment_method=payment_method,
        provider_event_id=provider_event_id or f"evt_{order_id}",
        provider_payment_id=provider_payment_id or f"pi_{order_id}",
        paid_at=paid_at or datetime.now(UTC),
    )
