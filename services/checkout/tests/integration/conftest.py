"""Checkout running in-process on a fresh migrated database, its own Kafka topics and group,
and the real stripe-mock; driven over ASGI HTTP and by real events on the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from paystream.checkout.app import create_app
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.settings import CheckoutSettings
from paystream.checkout.subscriptions.service import Plans
from paystream.shared.auth import make_token
from paystream.shared.events import Envelope, PaymentSucceededV1, RefundSucceededV1
from paystream.shared.kafka import create_producer, publish
from paystream.shared.money import Money
from paystream.shared.topics import Topics

JWT_SECRET = "checkout-tests-jwt-secret-0123456789abcdef"
# Not in sandbox mode by default, so checkout needs a real quote key (it refuses the default).
QUOTE_KEY = "checkout-tests-quote-key-0123456789abcdef"


@dataclass
class CheckoutUnderTest:
    settings: CheckoutSettings
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    bootstrap: str
    providers: ProviderRegistry
    # What subscriptions decide with (the app's own), for tests that settle a plan's order.
    plans: Plans

    def auth(self, user_id: str, *, admin: bool = False) -> dict[str, str]:
        token = make_token(user_id, JWT_SECRET, role="admin" if admin else None)
        return {"Authorization": f"Bearer {token}"}

    async def create_order(
        self,
        user_id: str,
        package_id: str = "standard",
        *,
        key: str | None = None,
        **body: Any,
    ) -> httpx.Response:
        headers = self.auth(user_id)
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.http.post(
            "/v1/orders",
            headers=headers,
            json={"package_id": package_id, "payment_method": "stripe_checkout", **body},
        )

    async def order(self, user_id: str, order_id: str, *, admin: bool = False) -> httpx.Response:
        headers = self.auth(user_id, admin=admin)
        return await self.http.get(f"/v1/orders/{order_id}", headers=headers)

    async def pay(self, order: dict[str, Any], *, payment_id: str | None = None) -> dict[str, Any]:
        """Publish the provider's payment for `order` on payments.events; wait until it is paid."""
        amount = Money.parse(order["amount"]["value"], order["amount"]["currency"])
        user: str = order["user_id"]
        env = Envelope.wrap(
            PaymentSucceededV1(
                order_id=order["order_id"],
                user_id=user,
                package_id=order["package_id"],
                credits=order["credits"],
                amount_minor=amount.minor,
                currency=amount.currency,
                provider=order["provider"] or "stripe",
                provider_event_id=f"evt_{uuid.uuid4().hex}",
                provider_payment_id=payment_id or f"pi_{uuid.uuid4().hex[:12]}",
                provider_session_id=order["provider_session_id"],
                paid_at=datetime.now(UTC),
            ),
            source="test",
            subject=order["order_id"],
        )
        await self.publish_payment(env, user)

        async def paid() -> dict[str, Any] | None:
            body: dict[str, Any] = (await self.order(user, order["order_id"])).json()
            return body if body["status"] == "paid" else None

        result: dict[str, Any] = await self.eventually(paid, what="order paid")
        return result

    async def publish_payment(self, env: Envelope, key: str) -> None:
        await publish(self.producer, self.settings.topics.payments_events, key, env)

    async def orders_events(self, *, expect: int, timeout_s: float = 20.0) -> list[Envelope]:
        """Read the orders topic from the start until `expect` events arrived (or time is up)."""
        consumer = AIOKafkaConsumer(
            self.settings.topics.orders_events,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            group_id=None,
            isolation_level="read_committed",
        )
        await consumer.start()
        out: list[Envelope] = []
        try:
            deadline = time.monotonic() + timeout_s
            while len(out) < expect and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=200)
                for recs in batch.values():
                    for r in recs:
                        env = Envelope.from_bytes(r.value or b"")
                        assert r.key is not None
                        assert r.key.decode() == env.data["user_id"], "Kafka key is the user id"
                        out.append(env)
        finally:
            await consumer.stop()
        return out

    async def refund_events(self, expect: int, *, timeout_s: float = 20.0) -> list[Envelope]:
        """RefundSucceededV1 events checkout published to payments.events (through its outbox),
        read from the start until `expect` arrived (or time is up)."""
        consumer = AIOKafkaConsumer(
            self.settings.topics.payments_events,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            group_id=None,
        )
        await consumer.start()
        out: list[Envelope] = []
        try:
            deadline = time.monotonic() + timeout_s
            while len(out) < expect and time.monotonic() < deadline:
                for recs in (await consumer.getmany(timeout_ms=200)).values():
                    for r in recs:
                        env = Envelope.from_bytes(r.value or b"")
                        if env.type == RefundSucceededV1.TYPE:
                            assert r.key == env.data["user_id"].encode()
                            out.append(env)
        finally:
            await consumer.stop()
        return out

    @staticmethod
    async def eventually(
        check: Callable[[], Awaitable[Any]], timeout_s: float = 30.0, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = await check()
            if value:
                return value
            assert time.monotonic() < deadline, f"{what} not reached within {timeout_s}s"
            await asyncio.sleep(0.1)


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: Stripe "unreachable"."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


MakeCheckout = Callable[..., contextlib.AbstractAsyncContextManager[CheckoutUnderTest]]


@pytest.fixture
def make_checkout(
    fresh_database: Callable[..., Awaitable[str]],
    make_topics: Callable[..., Awaitable[None]],
    kafka_bootstrap: str,
    unique_suffix: str,
) -> MakeCheckout:
    migrations = Path(__file__).resolve().parents[2] / "migrations"

    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[CheckoutUnderTest]:
        dsn = await fresh_database("checkout", migrations)
        suffix = f"{unique_suffix}.{uuid.uuid4().hex[:6]}"
        topics = Topics(f"t.{suffix}.")
        await make_topics(*(s.name for s in topics.specs()))
        options: dict[str, Any] = {
            "database": dsn.rsplit("/", 1)[1],
            "jwt_secret": JWT_SECRET,
            "quote_key": QUOTE_KEY,
            "topic_prefix": topics.prefix,
            "checkout_consumer_group": f"checkout-test-{suffix}",
            "pg_pool_min": 1,
            "pg_pool_max": 10,
            "return_url_hosts": ["shop.example"],
        }
        settings = CheckoutSettings(**{**options, **overrides})
        app = create_app(settings)
        producer = create_producer(kafka_bootstrap, "checkout-tests")
        await producer.start()
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://checkout"
                ) as http,
            ):
                yield CheckoutUnderTest(
                    settings=settings,
                    http=http,
                    pool=app.state.runtime.pool,
                    producer=producer,
                    bootstrap=kafka_bootstrap,
                    providers=app.state.checkout.providers,
                    plans=app.state.checkout.plans,
                )
        finally:
            await producer.stop()

    return make


@pytest.fixture
async def checkout(make_checkout: MakeCheckout) -> AsyncIterator[CheckoutUnderTest]:
    async with make_checkout() as c:
        yield c
