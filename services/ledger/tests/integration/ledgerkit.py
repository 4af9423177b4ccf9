"""Builders and a harness for the ledger's integration tests: paid orders and refunds as events,
batches applied the way the consumer applies them, a clock the test moves, and the app itself
over HTTP (in sandbox mode)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from paystream.devtools import records
from paystream.ledger.consumers import ledger_handler
from paystream.ledger.lots.service import grant_orders, order_grants
from paystream.ledger.settings import LedgerSettings
from paystream.shared.auth import make_token
from paystream.shared.clock import Clock
from paystream.shared.events import (
    Envelope,
    EventData,
    GrantSpec,
    InvoiceLine,
    OrderPaidV1,
    RefundSucceededV1,
    order_paid_event_id,
    refund_event_id,
)
from paystream.shared.kafka import Consumed, publish, record_inbox


@dataclass
class MovableClock:
    """A clock the test sets and moves."""

    at: datetime = field(default_factory=lambda: datetime(2026, 3, 1, 12, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> datetime:
        self.at += by
        return self.at


def paid_order(
    order: str,
    user: str,
    *grants: int | GrantSpec,
    paid_minor: int | None = None,
    currency: str = "CNY",
    paid_at: datetime | None = None,
    provider_payment_id: str | None = None,
) -> OrderPaidV1:
    """An order's OrderPaidV1; an int grant is `credits` with no expiry costing 10 minor each."""
    specs = [
        g if isinstance(g, GrantSpec) else GrantSpec(quantity=g, cost_minor=g * 10) for g in grants
    ]
    total = sum(s.cost_minor for s in specs) if paid_minor is None else paid_minor
    return OrderPaidV1(
        order_id=order,
        user_id=user,
        package_id="standard",
        grants=specs,
        lines=[
            InvoiceLine(
                description="credits", quantity=1, unit_amount_minor=total, amount_minor=total
            )
        ],
        amount_minor=total,
        currency=currency,
        paid_minor=total,
        paid_currency=currency,
        provider="stripe",
        payment_method="stripe_checkout",
        provider_event_id=f"evt_{order}",
        provider_payment_id=provider_payment_id,
        paid_at=paid_at or datetime.now(UTC),
    )


def refunded(
    order: str, user: str, amount: int, key: str, currency: str = "CNY", provider: str = "alipay"
) -> RefundSucceededV1:
    return RefundSucceededV1(
        order_id=order,
        user_id=user,
        refund_id=key,
        provider=provider,  # type: ignore[arg-type]
        provider_refund_id=key,
        amount_minor=amount,
        currency=currency,
        reason="duplicate",
        refunded_at=datetime.now(UTC),
    )


def envelope(data: EventData) -> Envelope:
    """The envelope its producer gives it: a paid order's and a refund's ids are derived."""
    if isinstance(data, OrderPaidV1):
        id_ = order_paid_event_id(data.order_id)
    elif isinstance(data, RefundSucceededV1):
        id_ = refund_event_id("succeeded", data.provider, data.provider_refund_id)
    else:
        id_ = uuid.uuid4()
    return Envelope.wrap(
        data, source="paystream/test", subject=getattr(data, "user_id", None), id=id_
    )


def consumed(data: EventData | Envelope, topic: str = "orders.events") -> Consumed:
    env = data if isinstance(data, Envelope) else envelope(data)
    return records.consumed(env, topic=topic)


async def apply(pool: asyncpg.Pool, clock: Clock, items: Sequence[Consumed | EventData]) -> None:
    """What the BatchConsumer does with a batch: inbox and effect in one transaction."""
    batch = [i if isinstance(i, Consumed) else consumed(i) for i in items]
    async with pool.acquire() as conn, conn.transaction():
        fresh = await record_inbox(conn, batch)
        if fresh:
            await ledger_handler(lambda: clock)(conn, fresh)


async def grant(
    pool: asyncpg.Pool, clock: Clock, user: str, *grants: int | GrantSpec, order: str | None = None
) -> list[uuid.UUID]:
    """Grant one paid order (with these lots) directly; returns the lots' ids."""
    paid = paid_order(order or f"order-{uuid.uuid4().hex}", user, *grants, paid_at=clock.now())
    async with pool.acquire() as conn, conn.transaction():
        await grant_orders(conn, order_grants(order_paid_event_id(paid.order_id), paid), clock)
        rows = await conn.fetch(
            "SELECT id FROM lots WHERE order_id = $1 ORDER BY order_line", paid.order_id
        )
    return [r["id"] for r in rows]


async def assert_books_balance(pool: asyncpg.Pool) -> None:
    """Double entry holds and the lot caches agree with the entries: every transaction's
    postings and the whole books sum to zero; each lot's remaining is its credits plus its
    entries and its held the sum of its held entries; each user's postings in a unit equal
    what their lots still hold."""
    assert await pool.fetchval("SELECT coalesce(sum(amount), 0) FROM postings") == 0
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM (SELECT transaction_id FROM postings GROUP BY 1"
            " HAVING sum(amount) <> 0) x"
        )
        == 0
    )
    wrong_lots = await pool.fetch(
        """
        SELECT l.id FROM lots l
        LEFT JOIN (SELECT lot_id, sum(delta) AS d, sum(held_delta) AS h FROM lot_entries
                   GROUP BY lot_id) e ON e.lot_id = l.id
        WHERE l.remaining <> l.credits + coalesce(e.d, 0) OR l.held <> coalesce(e.h, 0)
        """
    )
    assert wrong_lots == []
    wrong_users = await pool.fetch(
        """
        SELECT coalesce(p.account_id, 'user:' || l.user_id) AS account, p.unit
        FROM (SELECT p.account_id, t.unit, sum(p.amount) AS total FROM postings p
              JOIN transactions t ON t.id = p.transaction_id
              WHERE p.account_id LIKE 'user:%' GROUP BY 1, 2) p
        FULL JOIN (SELECT user_id, unit, sum(remaining) AS total FROM lots GROUP BY 1, 2) l
          ON p.account_id = 'user:' || l.user_id AND p.unit = l.unit
        WHERE p.total IS DISTINCT FROM l.total
        """
    )
    assert wrong_users == []
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM transactions t WHERE kind NOT IN ('hold', 'release')"
            " AND (SELECT count(*) FROM postings p WHERE p.transaction_id = t.id) <> 2"
        )
        == 0
    )


JWT = "ledger-test-jwt-secret-long-enough-for-hs256-0123456789"


@dataclass
class LedgerApp:
    """The ledger app over HTTP (ASGI, in-process), with its pool and settings."""

    http: httpx.AsyncClient
    pool: asyncpg.Pool
    settings: LedgerSettings
    clock: Clock
    producer: AIOKafkaProducer | None = None
    app: FastAPI | None = None  # the app itself, for tests about its routing

    def auth(self, user: str, *, admin: bool = False, key: str | None = None) -> dict[str, str]:
        token = make_token(user, JWT, role="admin" if admin else None)
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def grant(
        self, user: str, *grants: int | GrantSpec, order: str | None = None
    ) -> list[uuid.UUID]:
        return await grant(self.pool, self.clock, user, *grants, order=order)

    async def spend(
        self,
        user: str,
        credits: Any,
        reason: Any = "generate image",
        key: str | None = None,
        unit: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"credits": credits, "reason": reason}
        if unit is not None:
            body["unit"] = unit
        return await self.http.post(
            "/v1/spend", headers=self.auth(user, key=key or str(uuid.uuid4())), json=body
        )

    async def balance(self, user: str) -> int:
        r = await self.http.get("/v1/balance", headers=self.auth(user))
        assert r.status_code == 200, r.text
        return int(r.json()["credits"])

    async def get(self, path: str, user: str, *, admin: bool = False, **params: Any) -> Any:
        r = await self.http.get(path, headers=self.auth(user, admin=admin), params=params)
        assert r.status_code == 200, r.text
        return r.json()

    async def advance(self, by: str) -> dict[str, Any]:
        r = await self.http.post(
            "/v1/sandbox/clock/advance", headers=self.auth("ops", admin=True), json={"by": by}
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def run_jobs(self) -> dict[str, Any]:
        r = await self.http.post("/v1/sandbox/jobs/run", headers=self.auth("ops", admin=True))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def publish(self, data: EventData | Envelope) -> None:
        assert self.producer is not None
        env = data if isinstance(data, Envelope) else envelope(data)
        topic = self.settings.topics.of(env.type)
        await publish(self.producer, topic, env.subject or "", env)
