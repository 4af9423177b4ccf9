"""A second payment for an already paid order (issue 15): recorded once, reviewed, and refunded
(the default), credited as a new order, or only held, by `PAYSTREAM_SECOND_PAYMENT_POLICY`; its
refunds are measured against it. Real PostgreSQL, Kafka and stripe-mock (which answers a refund
`succeeded`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client import REGISTRY

from paystream.checkout.orders.sync import RECONCILER_SOURCE, apply_lookup
from paystream.checkout.providers.stripe import session_lookup
from paystream.checkout.second_payments.domain import SecondPaymentPolicy, refund_id_for
from paystream.checkout.settlement.repository import booked_between, booked_by_reference
from paystream.shared.db import transaction
from paystream.shared.events import (
    Envelope,
    OrderPaidV1,
    PaymentSucceededV1,
    RefundSucceededV1,
    order_paid_event_id,
)
from paystream.shared.money import Money

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest, MakeCheckout

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _paid_order(c: CheckoutUnderTest) -> dict[str, Any]:
    o = (await c.create_order(_user())).json()
    return await c.pay(o, payment_id=f"pi_first_{uuid.uuid4().hex[:8]}")


def _second(order: dict[str, Any], payment_id: str, *, value: str = "100.00") -> Envelope:
    """The provider's notification of another payment for `order` (a new event id each time)."""
    amount = Money.parse(value, "CNY")
    return Envelope.wrap(
        PaymentSucceededV1(
            order_id=order["order_id"],
            user_id=order["user_id"],
            package_id=order["package_id"],
            credits=order["credits"],
            amount_minor=amount.minor,
            currency=amount.currency,
            provider="stripe",
            provider_event_id=f"evt_{uuid.uuid4().hex}",
            provider_payment_id=payment_id,
            provider_session_id=f"cs_{uuid.uuid4().hex[:12]}",
            paid_at=datetime.now(UTC),
        ),
        source="test",
        subject=order["order_id"],
    )


async def _refunds(c: CheckoutUnderTest, order: dict[str, Any]) -> list[dict[str, Any]]:
    r = await c.http.get(
        "/v1/refunds", params={"order_id": order["order_id"]}, headers=c.auth("ops", admin=True)
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _reviews(c: CheckoutUnderTest, order: dict[str, Any]) -> list[dict[str, Any]]:
    r = await c.http.get(
        "/v1/admin/reviews",
        params={"order_id": order["order_id"]},
        headers=c.auth("ops", admin=True),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _counted(policy: str, action: str) -> float:
    """`paystream_second_payments_total` for Stripe, as /metrics shows it."""
    labels = {"provider": "stripe", "policy": policy, "action": action}
    return REGISTRY.get_sample_value("paystream_second_payments_total", labels) or 0.0


async def _order(c: CheckoutUnderTest, order: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = (await c.order(order["user_id"], order["order_id"])).json()
    return body


async def test_a_second_payment_is_refunded_once_against_itself(
    make_checkout: MakeCheckout,
) -> None:
    async with make_checkout(second_payment_refund_poll_s=0.2) as c:
        order = await _paid_order(c)
        pid = f"pi_second_{uuid.uuid4().hex[:8]}"
        counted = _counted("refund", "refund")
        # The same payment told three times: twice the same event, once another of its events.
        first = _second(order, pid)
        for env in (first, first, _second(order, pid)):
            await c.publish_payment(env, order["user_id"])

        async def refunded() -> list[dict[str, Any]] | None:
            items = await _refunds(c, order)
            return items if items and items[0]["status"] == "succeeded" else None

        refunds = await c.eventually(refunded, what="second payment refunded")
        await asyncio.sleep(1.0)  # let any wrongly repeated refund surface before counting
        refunds = await _refunds(c, order)
        assert len(refunds) == 1
        refund = refunds[0]
        assert refund["refund_id"] == str(refund_id_for("stripe", pid))
        assert refund["provider_payment_id"] == pid
        assert refund["amount"] == {"value": "100.00", "currency": "CNY"}
        assert refund["reason"] == "second payment for an already paid order"

        # The order, its first payment and what it granted are untouched.
        after = await _order(c, order)
        assert after["status"] == "paid"
        assert after["refunded"] == {"value": "0.00", "currency": "CNY"}

        # One review, for the operator's eye, saying what checkout did.
        reviews = await _reviews(c, order)
        assert len(reviews) == 1
        assert reviews[0]["reasons"] == ["duplicate_payment"]
        assert reviews[0]["blocking"] is False
        assert reviews[0]["provider_payment_id"] == pid
        assert reviews[0]["details"]["second_payment"] == {"policy": "refund", "action": "refund"}
        # The operator's metric counts the payment once, not each time it was told.
        assert _counted("refund", "refund") == counted + 1

        events = [e.payload_as(RefundSucceededV1) for e in await c.refund_events(1)]
        assert [(e.provider_payment_id, e.amount_minor) for e in events] == [(pid, 10_000)]

        # The day's settlement finds both payments booked under the order, and the refund.
        async with c.pool.acquire() as conn:
            booked = await booked_by_reference(conn, "stripe", [pid], [])
            day = await booked_between(
                conn, "stripe", datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC)
            )
        assert booked[("payment", pid)].order_id == order["order_id"]
        assert booked[("payment", pid)].amount == Money(10_000, "CNY")
        mine = [b for b in day if b.order_id == order["order_id"]]
        assert sorted(b.kind for b in mine) == ["payment", "payment", "refund"]

        # The order's own payment is still refundable in full: measured against itself.
        r = await c.http.post(
            "/v1/refunds",
            headers={**c.auth("ops", admin=True), "Idempotency-Key": uuid.uuid4().hex},
            json={"order_id": order["order_id"], "reason": "requested_by_customer"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["amount"] == {"value": "100.00", "currency": "CNY"}
        assert r.json()["provider_payment_id"] is None
        final = await _order(c, order)
        assert (final["status"], final["refunded"]["value"]) == ("refunded", "100.00")


async def test_credit_pays_a_new_order_of_the_same_content(make_checkout: MakeCheckout) -> None:
    async with make_checkout(second_payment_policy="credit") as c:
        order = await _paid_order(c)
        pid = f"pi_second_{uuid.uuid4().hex[:8]}"
        env = _second(order, pid)
        for again in (env, env, _second(order, pid)):
            await c.publish_payment(again, order["user_id"])

        async def credited() -> dict[str, Any] | None:
            r = await c.http.get("/v1/orders", headers=c.auth(order["user_id"]))
            others = [o for o in r.json()["items"] if o["order_id"] != order["order_id"]]
            return others[0] if others and others[0]["status"] == "paid" else None

        new = await c.eventually(credited, what="second payment credited")
        await asyncio.sleep(1.0)
        r = await c.http.get("/v1/orders", headers=c.auth(order["user_id"]))
        assert len(r.json()["items"]) == 2  # exactly one new order
        assert (new["package_id"], new["credits"], new["amount"]) == (
            order["package_id"],
            order["credits"],
            order["amount"],
        )
        assert await _refunds(c, order) == []
        reviews = await _reviews(c, order)
        assert reviews[0]["details"]["second_payment"] == {"policy": "credit", "action": "credit"}

        events = await c.orders_events(expect=6)
        paid = {e.id: e.payload_as(OrderPaidV1) for e in events if e.type == OrderPaidV1.TYPE}
        assert set(paid) == {
            order_paid_event_id(order["order_id"]),
            order_paid_event_id(new["order_id"]),
        }
        assert paid[order_paid_event_id(new["order_id"])].provider_payment_id == pid
        assert paid[order_paid_event_id(order["order_id"])].provider_payment_id != pid

        # Refunded in Stripe's dashboard, the refund names the first order (the PaymentIntent's
        # metadata): it is listed for an operator, not applied to either order.
        refund = RefundSucceededV1(
            order_id=order["order_id"],
            user_id=order["user_id"],
            provider="stripe",
            provider_refund_id=f"re_{uuid.uuid4().hex[:12]}",
            provider_payment_id=pid,
            amount_minor=10_000,
            currency="CNY",
            refunded_at=datetime.now(UTC),
        )
        await c.publish_payment(
            Envelope.wrap(refund, source="test", subject=order["order_id"]), order["user_id"]
        )

        async def listed() -> list[dict[str, Any]] | None:
            r = await c.http.get("/v1/admin/refunds/unmatched", headers=c.auth("ops", admin=True))
            items = [x for x in r.json()["items"] if x["provider_payment_id"] == pid]
            return items or None

        [unmatched] = await c.eventually(listed, what="credited payment's refund listed")
        assert new["order_id"] in unmatched["reason"]
        assert await _refunds(c, order) == []
        assert (await _order(c, order))["status"] == "paid"
        assert (await _order(c, new))["status"] == "paid"


async def test_credit_holds_a_payment_that_is_not_the_same_purchase(
    make_checkout: MakeCheckout,
) -> None:
    async with make_checkout(second_payment_policy="credit") as c:
        order = await _paid_order(c)
        await c.publish_payment(_second(order, "pi_less_x1", value="99.00"), order["user_id"])

        async def reviewed() -> list[dict[str, Any]] | None:
            return await _reviews(c, order) or None

        reviews = await c.eventually(reviewed, what="second payment reviewed")
        held = reviews[0]["details"]["second_payment"]
        assert (held["policy"], held["action"]) == ("credit", "review")
        assert "not the same purchase" in held["reason"]
        r = await c.http.get("/v1/orders", headers=c.auth(order["user_id"]))
        assert len(r.json()["items"]) == 1
        assert await _refunds(c, order) == []


async def test_review_only_holds_it_and_an_admin_refunds_it_by_its_payment(
    make_checkout: MakeCheckout,
) -> None:
    async with make_checkout(second_payment_policy="review") as c:
        order = await _paid_order(c)
        pid = f"pi_second_{uuid.uuid4().hex[:8]}"
        counted = _counted("review", "review")
        await c.publish_payment(_second(order, pid, value="150.00"), order["user_id"])

        async def reviewed() -> list[dict[str, Any]] | None:
            return await _reviews(c, order) or None

        reviews = await c.eventually(reviewed, what="second payment reviewed")
        assert reviews[0]["details"]["second_payment"] == {"policy": "review", "action": "review"}
        assert _counted("review", "review") == counted + 1
        await asyncio.sleep(0.5)
        assert await _refunds(c, order) == []

        async def refund(body: dict[str, Any]) -> Any:
            return await c.http.post(
                "/v1/refunds",
                headers={**c.auth("ops", admin=True), "Idempotency-Key": uuid.uuid4().hex},
                json={"order_id": order["order_id"], "reason": "paid twice", **body},
            )

        unknown = await refund({"provider_payment_id": "pi_nobody"})
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_payment")
        # More than the order's price, as much as the second payment took: its own amount.
        r = await refund({"provider_payment_id": pid})
        assert r.status_code == 201, r.text
        assert (r.json()["status"], r.json()["amount"]["value"]) == ("succeeded", "150.00")
        assert r.json()["provider_payment_id"] == pid
        again = await refund({"provider_payment_id": pid})
        assert (again.status_code, again.json()["error"]["code"]) == (
            422,
            "amount_exceeds_refundable",
        )
        after = await _order(c, order)
        assert (after["status"], after["refunded"]["value"]) == ("paid", "0.00")


async def test_a_payment_under_the_orders_own_trade_number_is_only_held(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    order = await _paid_order(c)
    # An Alipay-style report: another trade_no, but the order's own out_trade_no (session id).
    data = _second(order, "2026120422009999").payload_as(PaymentSucceededV1)
    same = data.model_copy(
        update={"provider": "alipay", "provider_session_id": order["provider_session_id"]}
    )
    await c.publish_payment(
        Envelope.wrap(same, source="test", subject=order["order_id"]), order["user_id"]
    )

    async def reviewed() -> list[dict[str, Any]] | None:
        return await _reviews(c, order) or None

    [review] = await c.eventually(reviewed, what="second payment reviewed")
    held = review["details"]["second_payment"]
    assert (held["policy"], held["action"]) == ("refund", "review")
    assert "trade number" in held["reason"]
    await asyncio.sleep(0.5)
    assert await _refunds(c, order) == []

    r = await c.http.post(
        "/v1/refunds",
        headers={**c.auth("ops", admin=True), "Idempotency-Key": uuid.uuid4().hex},
        json={
            "order_id": order["order_id"],
            "reason": "paid twice",
            "provider_payment_id": "2026120422009999",
        },
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "payment_refund_ambiguous")


async def test_a_second_payment_a_sync_finds_follows_the_configured_policy(
    make_checkout: MakeCheckout,
) -> None:
    # What the reconciler and POST /v1/orders/{id}/sync apply: the provider says the order's
    # session was paid, by a payment other than the one the order recorded.
    async with make_checkout(second_payment_policy="review") as c:
        order = await _paid_order(c)
        pid = f"pi_second_{uuid.uuid4().hex[:8]}"
        lookup = session_lookup("complete", "paid", pid, 10000, "cny")
        async with transaction(c.pool) as conn:
            await apply_lookup(
                conn,
                uuid.UUID(order["order_id"]),
                lookup,
                source=RECONCILER_SOURCE,
                plans=c.plans,
                second_payment=SecondPaymentPolicy.REVIEW,
            )

        async def reviewed() -> list[dict[str, Any]] | None:
            return await _reviews(c, order) or None

        reviews = await c.eventually(reviewed, what="second payment reviewed")
        assert reviews[0]["details"]["second_payment"] == {"policy": "review", "action": "review"}
        await asyncio.sleep(0.5)
        assert await _refunds(c, order) == []
