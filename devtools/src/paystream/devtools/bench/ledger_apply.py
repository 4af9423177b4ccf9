"""Ledger throughput: paid orders (OrderPaidV1) granted per second from a pre-filled topic."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from paystream.devtools.bench.apply import apply_from_topic
from paystream.ledger.consumers import ledger_handler
from paystream.ledger.settings import LedgerSettings
from paystream.shared.clock import SystemClock
from paystream.shared.events import (
    Envelope,
    GrantSpec,
    InvoiceLine,
    OrderPaidV1,
    order_paid_event_id,
)


def order_paid(i: int, user: str, now: datetime) -> Envelope:
    """A paid order of one lot of 1,100 credits valid six months, as checkout publishes it."""
    order = f"bench-{uuid.uuid4().hex}"
    return Envelope.wrap(
        OrderPaidV1(
            order_id=order,
            user_id=user,
            package_id="standard",
            grants=[GrantSpec(quantity=1100, validity="P6M", cost_minor=10000)],
            lines=[
                InvoiceLine(
                    description="standard", quantity=1, unit_amount_minor=10000, amount_minor=10000
                )
            ],
            amount_minor=10000,
            currency="CNY",
            paid_minor=10000,
            paid_currency="CNY",
            provider="stripe",
            payment_method="stripe_checkout",
            provider_event_id=f"evt_{i}",
            paid_at=now,
        ),
        source="paystream/bench",
        id=order_paid_event_id(order),
    )


async def _check(pool: asyncpg.Pool) -> dict[str, Any]:
    grants = await pool.fetchval("SELECT count(*) FROM transactions WHERE kind = 'grant'")
    credits = await pool.fetchval("SELECT coalesce(sum(remaining), 0) FROM lots")
    return {"grants_in_db": grants, "credits_in_db": int(credits)}


async def run(n: int, users: int = 5000) -> dict[str, Any]:
    settings = LedgerSettings()
    return await apply_from_topic(
        name="ledger",
        settings=settings,
        migrations_dir=settings.migrations_dir,
        handler=ledger_handler(SystemClock),
        check=_check,
        n=n,
        users=users,
        topic_of=lambda t: t.orders_events,
        make=order_paid,
    )
