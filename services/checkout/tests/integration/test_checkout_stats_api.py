"""`GET /v1/admin/stats/payments` on the real PostgreSQL, Kafka and stripe-mock: orders placed,
paid, failed and cancelled through checkout's own API and consumer, then counted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from paystream.shared.events import Envelope, PaymentFailedV1, PaymentSucceededV1

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration


async def _order(c: CheckoutUnderTest, user: str, package: str) -> dict[str, Any]:
    r = await c.create_order(user, package)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _status(c: CheckoutUnderTest, order: dict[str, Any], status: str) -> None:
    async def reached() -> bool:
        r = await c.order(order["user_id"], order["order_id"])
        return bool(r.json()["status"] == status)

    await c.eventually(reached, what=f"order {status}")


async def test_payment_stats_count_what_happened_to_orders(checkout: CheckoutUnderTest) -> None:
    user = f"user-{uuid.uuid4().hex[:10]}"
    paid = [await _order(checkout, user, "standard") for _ in range(2)]
    cancelled = await _order(checkout, user, "trial")
    failed = await _order(checkout, user, "trial")
    mismatched = await _order(checkout, user, "value")
    await _order(checkout, user, "premium")  # stays pending
    for o in paid:
        await checkout.pay(o)
    r = await checkout.http.post(
        f"/v1/orders/{cancelled['order_id']}/cancel", headers=checkout.auth(user)
    )
    assert r.status_code == 200, r.text
    await checkout.publish_payment(
        Envelope.wrap(
            PaymentFailedV1(
                order_id=failed["order_id"],
                user_id=user,
                provider="stripe",
                provider_event_id=f"evt_{uuid.uuid4().hex}",
                provider_session_id=failed["provider_session_id"],
                reason="card_declined",
                failed_at=datetime.now(UTC),
            ),
            source="test",
        ),
        user,
    )
    await _status(checkout, failed, "failed")
    # 1.00 CNY taken for a 500.00 order: held for an operator's decision, nothing granted.
    await checkout.publish_payment(
        Envelope.wrap(
            PaymentSucceededV1(
                order_id=mismatched["order_id"],
                user_id=user,
                package_id="value",
                credits=mismatched["credits"],
                amount_minor=100,
                currency="CNY",
                provider="stripe",
                provider_event_id=f"evt_{uuid.uuid4().hex}",
                provider_payment_id="pi_short",
                provider_session_id=mismatched["provider_session_id"],
                paid_at=datetime.now(UTC),
            ),
            source="test",
        ),
        user,
    )
    await _status(checkout, mismatched, "needs_review")

    r = await checkout.http.get("/v1/admin/stats/payments", headers=checkout.auth("op", admin=True))
    assert r.status_code == 200, r.text
    stats = r.json()
    (method,) = stats["by_method"]
    assert method["payment_method"] == "stripe_checkout"
    counted = ("created", "paid", "failed", "cancelled", "pending", "needs_review")
    assert {k: method[k] for k in counted} == {
        "created": 6,
        "paid": 2,
        "failed": 1,
        "cancelled": 1,
        "pending": 1,
        "needs_review": 1,
    }
    assert method["success_rate"] == 0.5  # 2 paid of the 4 that ended
    assert method["median_seconds_to_paid"] > 0
    assert method["p95_seconds_to_paid"] >= method["median_seconds_to_paid"]
    (day,) = stats["by_day"]
    assert (day["created"], day["paid"]) == (6, 2)

    packages = {p["package_id"]: p for p in stats["packages"]}
    assert packages["standard"] == {
        "package_id": "standard",
        "created": 2,
        "paid": 2,
        "credits": 2200,
    }
    assert packages["premium"]["paid"] == 0
    assert stats["packages"][0]["package_id"] == "standard"  # the most bought first
    assert stats["plans"] == []  # nobody has a plan in this checkout yet

    (amount,) = stats["paid_amounts"]
    assert amount["paid"] == {"value": "200.00", "currency": "CNY"}  # 100 + 100 (1.00 held)

    reasons = {(f["reason"], f["status"]): f["orders"] for f in stats["failure_reasons"]}
    assert reasons == {("card_declined", "failed"): 1, ("cancelled before payment", "cancelled"): 1}

    assert stats["needs_review"]["open_reviews"] == [
        {
            "reason": "amount_mismatch",
            "blocking": True,
            "reviews": 1,
            "oldest_at": stats["needs_review"]["open_reviews"][0]["oldest_at"],
        }
    ]
    review = stats["needs_review"]["amount_mismatch"]
    assert [o["order_id"] for o in review] == [mismatched["order_id"]]
    assert review[0]["paid"] == {"value": "1.00", "currency": "CNY"}
    assert review[0]["amount"] == {"value": "500.00", "currency": "CNY"}

    assert (
        await checkout.http.get("/v1/admin/stats/payments", headers=checkout.auth(user))
    ).status_code == 403
    assert (await checkout.http.get("/v1/admin/stats/payments")).status_code == 401
    bad = await checkout.http.get(
        "/v1/admin/stats/payments",
        headers=checkout.auth("op", admin=True),
        params={"since": "2026-02-01", "until": "2026-01-01"},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_period"
