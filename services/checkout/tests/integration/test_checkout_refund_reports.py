"""Refund reports on payments.events (`paystream.refund.reported.v1`): a dashboard refund is
matched to its order by the provider's payment reference; a cumulative total is applied as the
refund's own amount only for a refund checkout made; what cannot be matched or measured is
listed for an operator at GET /v1/admin/refunds/unmatched (issue 15). Real PostgreSQL and Kafka.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from paystream.shared.events import (
    Envelope,
    RefundReportedV1,
    RefundSucceededV1,
    refund_event_id,
)

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration

UNMATCHED = "/v1/admin/refunds/unmatched"


async def _paid_order(c: CheckoutUnderTest, payment_id: str) -> dict[str, Any]:
    user = f"user-{uuid.uuid4().hex[:12]}"
    o = (await c.create_order(user)).json()
    return await c.pay(o, payment_id=payment_id)


async def _report(c: CheckoutUnderTest, report: RefundReportedV1) -> None:
    env = Envelope.wrap(
        report,
        source="test",
        id=refund_event_id("reported", report.provider, report.provider_refund_id),
    )
    await c.publish_payment(env, report.kafka_key)


async def _unmatched(c: CheckoutUnderTest, **params: Any) -> list[dict[str, Any]]:
    r = await c.http.get(UNMATCHED, headers=c.auth("ops-admin", admin=True), params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _listed(c: CheckoutUnderTest, provider_refund_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        return next(
            (u for u in await _unmatched(c) if u["provider_refund_id"] == provider_refund_id),
            None,
        )

    listed: dict[str, Any] = await c.eventually(found, what=f"{provider_refund_id} listed")
    return listed


async def _announced(c: CheckoutUnderTest, event_id: uuid.UUID) -> list[tuple[str, Envelope]]:
    """The records under `event_id` on payments.events (checkout's outbox publishes them)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        c.settings.topics.payments_events,
        bootstrap_servers=c.bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    out: list[tuple[str, Envelope]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while loop.time() < deadline and not out:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                for r in recs:
                    env = Envelope.from_bytes(r.value or b"")
                    if env.id == event_id:
                        out.append(((r.key or b"").decode(), env))
        # Anything more would already be there: the relay published the batch at once.
        for recs in (await consumer.getmany(timeout_ms=500)).values():
            out += [
                ((r.key or b"").decode(), Envelope.from_bytes(r.value or b""))
                for r in recs
                if Envelope.from_bytes(r.value or b"").id == event_id
            ]
    finally:
        await consumer.stop()
    return out


async def _order_status(c: CheckoutUnderTest, order: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = (await c.order(order["user_id"], order["order_id"])).json()
    return body


async def test_a_dashboard_refund_is_matched_by_its_payment_reference(
    checkout: CheckoutUnderTest,
) -> None:
    pi = f"pi_{uuid.uuid4().hex[:12]}"
    order = await _paid_order(checkout, pi)
    re_id = f"re_{uuid.uuid4().hex[:12]}"
    await _report(
        checkout,
        RefundReportedV1(
            provider="stripe",
            provider_refund_id=re_id,
            provider_payment_id=pi,
            amount_minor=2500,
            currency=order["amount"]["currency"],
            reason="refunded in the Stripe dashboard",
            refunded_at=datetime.now(UTC),
        ),
    )

    async def refunded() -> dict[str, Any] | None:
        s = await _order_status(checkout, order)
        return s if s["status"] == "partially_refunded" else None

    s = await checkout.eventually(refunded, what="order partially refunded")
    assert s["refunded"]["value"] == "25.00"
    async with checkout.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT amount_minor, status, requested_by, order_id FROM refunds"
            " WHERE provider = 'stripe' AND provider_refund_id = $1",
            re_id,
        )
    assert row is not None
    assert (row["amount_minor"], row["status"], row["requested_by"]) == (2500, "succeeded", None)
    assert str(row["order_id"]) == order["order_id"]
    # Announced to ledger and invoicing as the refund, with the order's facts, once.
    [(key, env)] = await _announced(checkout, refund_event_id("succeeded", "stripe", re_id))
    assert key == order["user_id"]
    data = env.payload_as(RefundSucceededV1)
    assert (data.order_id, data.user_id, data.amount_minor) == (
        order["order_id"],
        order["user_id"],
        2500,
    )
    assert re_id not in {u["provider_refund_id"] for u in await _unmatched(checkout)}


async def test_what_cannot_be_matched_or_measured_is_listed_for_an_operator(
    checkout: CheckoutUnderTest,
) -> None:
    now = datetime.now(UTC)
    # 1. A dashboard refund on a payment no order holds.
    stray = f"re_{uuid.uuid4().hex[:12]}"
    await _report(
        checkout,
        RefundReportedV1(
            provider="stripe",
            provider_refund_id=stray,
            provider_payment_id="pi_nobody",
            amount_minor=1234,
            currency="USD",
            refunded_at=now,
        ),
    )
    # 2. An Alipay refund paystream did not make, known only by the trade's cumulative total.
    order = await _paid_order(checkout, f"pi_{uuid.uuid4().hex[:12]}")
    foreign = f"dashboard-{uuid.uuid4().hex[:8]}"
    await _report(
        checkout,
        RefundReportedV1(
            order_id=order["order_id"],
            user_id=order["user_id"],
            provider="alipay",
            provider_refund_id=foreign,
            provider_payment_id="2026120422001",
            refunded_total_minor=5000,
            currency=order["amount"]["currency"],
            refunded_at=now,
        ),
    )
    # 3. A refund naming an order checkout does not have.
    ghost_order = str(uuid.uuid4())
    await checkout.publish_payment(
        Envelope.wrap(
            RefundSucceededV1(
                order_id=ghost_order,
                user_id="user-ghost",
                provider="stripe",
                provider_refund_id="re_ghost",
                amount_minor=100,
                currency="EUR",
                refunded_at=now,
            ),
            source="test",
        ),
        "user-ghost",
    )

    first = await _listed(checkout, stray)
    assert (first["provider_payment_id"], first["order_id"], first["amount"]) == (
        "pi_nobody",
        None,
        {"value": "12.34", "currency": "USD"},
    )
    assert first["reason"] == "no order holds the payment pi_nobody"
    second = await _listed(checkout, foreign)
    assert second["order_id"] == order["order_id"]
    assert (second["amount"], second["refunded_total"]["value"]) == (None, "50.00")
    assert "own amount is not known" in second["reason"]
    third = await _listed(checkout, "re_ghost")
    assert (third["order_id"], third["amount"]["value"]) == (ghost_order, "1.00")
    # Never guessed: the order is untouched.
    s = await _order_status(checkout, order)
    assert (s["status"], s["refunded"]["value"]) == ("paid", "0.00")

    # The same report again keeps one row; the list pages.
    await _report(
        checkout,
        RefundReportedV1(
            provider="stripe",
            provider_refund_id=stray,
            provider_payment_id="pi_nobody",
            amount_minor=1234,
            currency="USD",
            refunded_at=now,
        ),
    )
    page = await _unmatched(checkout, limit=2)
    assert len(page) == 2
    ids = [u["provider_refund_id"] for u in await _unmatched(checkout, limit=100)]
    assert ids.count(stray) == 1

    # Operators only.
    r = await checkout.http.get(UNMATCHED, headers=checkout.auth(order["user_id"]))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    r = await checkout.http.get(
        UNMATCHED, headers=checkout.auth("ops-admin", admin=True), params={"cursor": "not a cursor"}
    )
    assert r.status_code == 400, r.text


async def test_a_cumulative_report_of_our_pending_refund_applies_its_own_amount(
    checkout: CheckoutUnderTest,
) -> None:
    order = await _paid_order(checkout, f"pi_{uuid.uuid4().hex[:12]}")
    rid = uuid.uuid4()
    async with checkout.pool.acquire() as conn:
        # Our second partial refund, its provider's answer not in yet (no provider_refund_id).
        await conn.execute(
            """
            INSERT INTO refunds (id, order_id, user_id, amount_minor, currency, reason, status,
                provider, provider_refund_id)
            VALUES ($1, $2, $3, 3000, $4, 'x', 'pending', 'alipay', NULL)
            """,
            rid,
            uuid.UUID(order["order_id"]),
            order["user_id"],
            order["amount"]["currency"],
        )
    # refund_fee 50.00: 20.00 refunded before it on the trade, 30.00 by this one.
    await _report(
        checkout,
        RefundReportedV1(
            order_id=order["order_id"],
            user_id=order["user_id"],
            provider="alipay",
            provider_refund_id=str(rid),
            refunded_total_minor=5000,
            currency=order["amount"]["currency"],
            refunded_at=datetime.now(UTC),
        ),
    )

    async def succeeded() -> bool:
        async with checkout.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT status, amount_minor, provider_refund_id FROM refunds WHERE id = $1", rid
            )
        return row is not None and tuple(row) == ("succeeded", 3000, str(rid))

    await checkout.eventually(succeeded, what="refund succeeded with its own amount")
    s = await _order_status(checkout, order)
    assert (s["status"], s["refunded"]["value"]) == ("partially_refunded", "30.00")
