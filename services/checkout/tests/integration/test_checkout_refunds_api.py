"""POST /v1/refunds and the refund outcomes on payments.events, with the real Stripe provider
(stripe-mock answers a refund `succeeded`), PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from paystream.shared.events import Envelope, RefundFailedV1, RefundSucceededV1, refund_event_id

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _paid_order(c: CheckoutUnderTest, **kw: Any) -> dict[str, Any]:
    user = _user()
    o = (await c.create_order(user, **kw)).json()
    return await c.pay(o)


async def _refund(
    c: CheckoutUnderTest, body: dict[str, Any], *, key: str | None = None, admin: bool = True
) -> Any:
    headers = c.auth("ops-admin", admin=admin)
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return await c.http.post("/v1/refunds", headers=headers, json=body)


async def _status(c: CheckoutUnderTest, order: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = (await c.order(order["user_id"], order["order_id"])).json()
    return body


async def test_partial_then_full_refund(checkout: CheckoutUnderTest) -> None:
    order = await _paid_order(checkout)
    r = await _refund(
        checkout,
        {
            "order_id": order["order_id"],
            "amount": {"value": "30.00", "currency": "CNY"},
            "reason": "requested_by_customer",
        },
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["status"] == "succeeded"
    assert first["amount"] == {"value": "30.00", "currency": "CNY"}
    assert first["provider"] == "stripe"
    assert first["provider_refund_id"].startswith("re_")
    after_first = await _status(checkout, order)
    assert after_first["status"] == "partially_refunded"
    assert after_first["refunded"] == {"value": "30.00", "currency": "CNY"}

    # No amount: everything that is left.
    r = await _refund(checkout, {"order_id": order["order_id"], "reason": "duplicate"})
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == {"value": "70.00", "currency": "CNY"}
    final = await _status(checkout, order)
    assert final["status"] == "refunded"
    assert final["refunded"] == {"value": "100.00", "currency": "CNY"}

    nothing_left = await _refund(checkout, {"order_id": order["order_id"], "reason": "again"})
    assert nothing_left.status_code == 409  # a refunded order is not refundable any more
    assert nothing_left.json()["error"]["code"] == "order_not_refundable"

    # Each refund is announced once, under the id every source uses for it.
    events = await checkout.refund_events(2)
    assert len(events) == 2
    for env in events:
        data = env.payload_as(RefundSucceededV1)
        assert env.id == refund_event_id("succeeded", "stripe", data.provider_refund_id)
        assert data.order_id == order["order_id"]
    assert sorted(e.data["amount_minor"] for e in events) == [3000, 7000]

    listed = await checkout.http.get(
        "/v1/refunds",
        params={"order_id": order["order_id"]},
        headers=checkout.auth(order["user_id"]),
    )
    assert listed.status_code == 200
    assert [x["amount"]["value"] for x in listed.json()["items"]] == ["70.00", "30.00"]
    other = await checkout.http.get(
        f"/v1/refunds/{first['refund_id']}", headers=checkout.auth(_user())
    )
    assert other.status_code == 404


async def test_idempotency_key(checkout: CheckoutUnderTest) -> None:
    order = await _paid_order(checkout)
    body = {
        "order_id": order["order_id"],
        "amount": {"value": "10.00", "currency": "CNY"},
        "reason": "requested_by_customer",
    }
    first = await _refund(checkout, body, key="refund-key-1")
    replay = await _refund(checkout, body, key="refund-key-1")
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    reused = await _refund(checkout, {**body, "reason": "other"}, key="refund-key-1")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert (await _status(checkout, order))["refunded"]["value"] == "10.00"


async def test_concurrent_refunds_never_return_more_than_paid(checkout: CheckoutUnderTest) -> None:
    order = await _paid_order(checkout)
    body = {
        "order_id": order["order_id"],
        "amount": {"value": "40.00", "currency": "CNY"},
        "reason": "requested_by_customer",
    }
    results = await asyncio.gather(*(_refund(checkout, body) for _ in range(5)))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 201, 422, 422, 422]
    refused = [r.json()["error"]["code"] for r in results if r.status_code == 422]
    assert refused == ["amount_exceeds_refundable"] * 3
    status = await _status(checkout, order)
    assert status["refunded"] == {"value": "80.00", "currency": "CNY"}
    assert status["status"] == "partially_refunded"


async def test_refusals(checkout: CheckoutUnderTest) -> None:
    order = await _paid_order(checkout)
    oid = order["order_id"]
    too_much = await _refund(
        checkout,
        {"order_id": oid, "amount": {"value": "100.01", "currency": "CNY"}, "reason": "x"},
    )
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "amount_exceeds_refundable"
    assert "100.00 CNY" in too_much.json()["error"]["message"]
    other_currency = await _refund(
        checkout, {"order_id": oid, "amount": {"value": "1.00", "currency": "USD"}, "reason": "x"}
    )
    assert other_currency.status_code == 422
    assert other_currency.json()["error"]["code"] == "currency_mismatch"
    for bad in (
        {"order_id": oid, "amount": {"value": "1.001", "currency": "CNY"}, "reason": "x"},
        {"order_id": oid, "amount": {"value": 1.0, "currency": "CNY"}, "reason": "x"},
        {"order_id": oid, "amount": {"value": "0", "currency": "CNY"}, "reason": "x"}
        | {"amount": {"value": "-1.00", "currency": "CNY"}},
        {"order_id": oid, "reason": ""},
        {"order_id": oid},
    ):
        r = await _refund(checkout, bad)
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "validation_error"
    no_key = await checkout.http.post(
        "/v1/refunds",
        headers=checkout.auth("ops", admin=True),
        json={"order_id": oid, "reason": "x"},
    )
    assert no_key.status_code == 422
    not_admin = await _refund(checkout, {"order_id": oid, "reason": "x"}, admin=False)
    assert not_admin.status_code == 403
    unknown = await _refund(checkout, {"order_id": str(uuid.uuid4()), "reason": "x"})
    assert unknown.status_code == 404
    pending = (await checkout.create_order(_user())).json()
    not_paid = await _refund(checkout, {"order_id": pending["order_id"], "reason": "x"})
    assert not_paid.status_code == 409
    assert not_paid.json()["error"]["code"] == "order_not_refundable"
    # Nothing was refunded by any of these.
    assert (await _status(checkout, order))["refunded"]["value"] == "0.00"


async def test_provider_unreachable_leaves_the_refund_pending_and_its_amount_held(
    make_checkout: Any, closed_port: int
) -> None:
    # Issue 15: a refund is never guessed. Stripe may have refunded before the connection
    # failed, so the refund stays pending (the reconciler asks later) and keeps its amount.
    async with make_checkout(stripe_api_base=f"http://127.0.0.1:{closed_port}") as c:
        user = _user()
        async with c.pool.acquire() as conn:
            # The order was paid through a provider that is now unreachable.
            oid = uuid.uuid4()
            await conn.execute(
                """
                INSERT INTO orders (id, user_id, package_id, credits, amount_minor, currency,
                    payment_method, status, expires_at, provider, provider_session_id,
                    provider_payment_id, paid_amount_minor, paid_currency, paid_at, grants, lines)
                VALUES ($1, $2, 'standard', 1100, 10000, 'CNY', 'stripe_payment_intent', 'paid',
                    now(), 'stripe', 'pi_x', 'pi_x', 10000, 'CNY', now(), '[]', '[]')
                """,
                oid,
                user,
            )
        r = await _refund(c, {"order_id": str(oid), "reason": "x"})
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "pending"
        assert r.json()["failure_reason"] is None
        async with c.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT status, provider_refund_id FROM refunds")
        assert row["status"] == "pending"
        assert row["provider_refund_id"] is None  # Stripe named no re_... yet
        body = (await c.order(user, str(oid))).json()
        assert body["status"] == "paid"
        assert body["refunded"]["value"] == "0.00"
        # Held: nothing is left to refund while the first one's fate is unknown.
        again = await _refund(c, {"order_id": str(oid), "reason": "x"})
        assert again.status_code == 422
        assert again.json()["error"]["code"] == "amount_exceeds_refundable"


async def test_refund_made_at_the_provider_is_learned_from_its_event(
    checkout: CheckoutUnderTest,
) -> None:
    order = await _paid_order(checkout)
    event = RefundSucceededV1(
        order_id=order["order_id"],
        user_id=order["user_id"],
        provider="stripe",
        provider_refund_id="re_dashboard_1",
        amount_minor=10000,
        currency="CNY",
        reason="refunded in the Stripe dashboard",
        refunded_at=datetime.now(UTC),
    )
    env = Envelope.wrap(
        event, source="test", id=refund_event_id("succeeded", "stripe", "re_dashboard_1")
    )
    await checkout.publish_payment(env, order["user_id"])
    # The same refund told by a second source (another envelope id) changes nothing more.
    await checkout.publish_payment(Envelope.wrap(event, source="other"), order["user_id"])

    async def refunded() -> dict[str, Any] | None:
        s = await _status(checkout, order)
        return s if s["status"] == "refunded" else None

    await checkout.eventually(refunded, what="order refunded")
    await asyncio.sleep(1)
    async with checkout.pool.acquire() as conn:
        rows = await conn.fetch("SELECT provider_refund_id, status FROM refunds")
        total = await conn.fetchval(
            "SELECT refunded_minor FROM orders WHERE id = $1", uuid.UUID(order["order_id"])
        )
    assert [(r["provider_refund_id"], r["status"]) for r in rows] == [
        ("re_dashboard_1", "succeeded")
    ]
    assert total == 10000


async def test_a_failed_refund_event_releases_the_amount(checkout: CheckoutUnderTest) -> None:
    order = await _paid_order(checkout)
    async with checkout.pool.acquire() as conn:
        # A refund the provider accepted as pending (e.g. WeChat Pay PROCESSING).
        rid = uuid.uuid4()
        await conn.execute(
            """
            INSERT INTO refunds (id, order_id, user_id, amount_minor, currency, reason, status,
                provider, provider_refund_id)
            VALUES ($1, $2, $3, 10000, 'CNY', 'x', 'pending', 'stripe', 're_pending_1')
            """,
            rid,
            uuid.UUID(order["order_id"]),
            order["user_id"],
        )
    held = await _refund(checkout, {"order_id": order["order_id"], "reason": "y"})
    assert held.status_code == 422  # the pending refund holds the whole amount
    failed = RefundFailedV1(
        order_id=order["order_id"],
        user_id=order["user_id"],
        refund_id=str(rid),
        provider="stripe",
        provider_refund_id="re_pending_1",
        amount_minor=10000,
        currency="CNY",
        reason="insufficient_funds",
        failed_at=datetime.now(UTC),
    )
    await checkout.publish_payment(Envelope.wrap(failed, source="test"), order["user_id"])

    async def released() -> bool:
        async with checkout.pool.acquire() as conn:
            s = await conn.fetchval("SELECT status FROM refunds WHERE id = $1", rid)
        return bool(s == "failed")

    await checkout.eventually(released, what="refund failed")
    again = await _refund(checkout, {"order_id": order["order_id"], "reason": "y"})
    assert again.status_code == 201, again.text
    assert (await _status(checkout, order))["status"] == "refunded"
