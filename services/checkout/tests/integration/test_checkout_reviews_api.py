"""The order is the authority: payments that do not match their order are held for an operator,
listed at /v1/admin/reviews and decided there (accept, refund, dismiss), each decision audited.
Real PostgreSQL, Kafka and stripe-mock; the payments arrive as real events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from paystream.shared.events import Envelope, PaymentSucceededV1, order_paid_event_id

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


def _paid(order: dict[str, Any], **over: Any) -> Envelope:
    fields: dict[str, Any] = {
        "order_id": order["order_id"],
        "user_id": order["user_id"],
        "package_id": order["package_id"],
        "credits": order["credits"],
        "amount_minor": int(order["amount"]["value"].replace(".", "")),
        "currency": order["amount"]["currency"],
        "provider": "stripe",
        "provider_event_id": f"evt_{uuid.uuid4().hex}",
        "provider_payment_id": f"pi_{uuid.uuid4().hex[:12]}",
        "provider_session_id": order["provider_session_id"],
        "paid_at": datetime.now(UTC),
    }
    fields.update(over)
    return Envelope.wrap(PaymentSucceededV1(**fields), source="test", subject=fields["order_id"])


async def _order(c: CheckoutUnderTest, package: str = "standard") -> dict[str, Any]:
    r = await c.create_order(_user(), package)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _reviews(c: CheckoutUnderTest, **params: str) -> list[dict[str, Any]]:
    r = await c.http.get("/v1/admin/reviews", params=params, headers=c.auth("ops", admin=True))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _review_of(c: CheckoutUnderTest, order_id: str) -> dict[str, Any]:
    async def listed() -> dict[str, Any] | None:
        items = await _reviews(c, order_id=order_id)
        return items[0] if items else None

    review: dict[str, Any] = await c.eventually(listed, what="review listed")
    return review


async def _status(c: CheckoutUnderTest, order: dict[str, Any], status: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = (await c.order(order["user_id"], order["order_id"])).json()
        return body if body["status"] == status else None

    result: dict[str, Any] = await c.eventually(reached, what=f"order {status}")
    return result


async def _decide(
    c: CheckoutUnderTest, review_id: str, decision: str, reason: str | None = "checked"
) -> Any:
    body = {} if reason is None else {"reason": reason}
    return await c.http.post(
        f"/v1/admin/reviews/{review_id}/{decision}", json=body, headers=c.auth("ops", admin=True)
    )


async def _order_paid_events(c: CheckoutUnderTest, order_id: str) -> list[Envelope]:
    events = await c.orders_events(expect=10, timeout_s=5)
    return [e for e in events if e.type == "paystream.order.paid.v1" and e.subject == order_id]


async def test_edited_metadata_is_held_then_accepted_as_the_order_says(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    order = await _order(c)
    # A dashboard user edited metadata.credits: the notification claims 999,999 credits.
    await c.publish_payment(_paid(order, credits=999_999), order["user_id"])
    held = await _status(c, order, "needs_review")
    assert held["paid_at"] is not None
    review = await _review_of(c, order["order_id"])
    assert (review["reasons"], review["blocking"], review["status"]) == (
        ["credits_mismatch"],
        True,
        "open",
    )
    assert review["details"]["credits"] == {"order": 1100, "paid": 999_999}
    assert review["allowed_decisions"] == ["accept", "refund"]
    assert await _order_paid_events(c, order["order_id"]) == []  # nothing granted yet

    # Only an admin sees or decides.
    r = await c.http.get("/v1/admin/reviews", headers=c.auth(order["user_id"]))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    r = await c.http.post(
        f"/v1/admin/reviews/{review['review_id']}/accept",
        json={"reason": "x"},
        headers=c.auth(order["user_id"]),
    )
    assert r.status_code == 403

    r = await _decide(c, review["review_id"], "accept", "customer confirmed by phone")
    assert r.status_code == 200, r.text
    decided = r.json()
    assert (decided["status"], decided["decided_by"], decided["decision_reason"]) == (
        "accepted",
        "ops",
        "customer confirmed by phone",
    )
    assert decided["decided_at"] is not None
    await _status(c, order, "paid")
    [paid] = await _order_paid_events(c, order["order_id"])
    assert paid.id == order_paid_event_id(order["order_id"])
    # Granted as the order says, never as the notification said.
    assert [g["quantity"] for g in paid.data["grants"]] == [1100]
    assert (paid.data["review"], paid.data["reviewed_by"]) == ("accepted", "ops")

    # A decision is taken once.
    again = await _decide(c, review["review_id"], "accept")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "decision_not_allowed")


async def test_an_underpayment_is_held_and_refunded_in_full_through_the_provider(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    order = await _order(c, "premium")
    await c.publish_payment(_paid(order, amount_minor=1), order["user_id"])
    await _status(c, order, "needs_review")
    review = await _review_of(c, order["order_id"])
    assert review["reasons"] == ["amount_mismatch"]
    assert review["details"]["amount"] == {
        "order": {"minor": 100_000, "currency": "CNY"},
        "paid": {"minor": 1, "currency": "CNY"},
    }

    r = await _decide(c, review["review_id"], "refund", "not what was ordered")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decided_by"]) == ("refunded", "ops")
    refund_id = r.json()["refund_id"]
    refund = await c.http.get(f"/v1/refunds/{refund_id}", headers=c.auth("ops", admin=True))
    assert refund.status_code == 200, refund.text
    # All that was taken goes back: 0.01, not the order's 1,000.00.
    assert refund.json()["amount"] == {"value": "0.01", "currency": "CNY"}
    assert refund.json()["reason"] == "payment review: not what was ordered"
    # stripe-mock answers the refund at once: the order ends refunded, never granted.
    await _status(c, order, "refunded")
    assert await _order_paid_events(c, order["order_id"]) == []


async def test_an_overpayment_is_granted_as_ordered_and_its_difference_can_be_refunded(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    order = await _order(c)  # 100.00 CNY
    await c.publish_payment(_paid(order, amount_minor=15_000), order["user_id"])
    await _status(c, order, "paid")
    [paid] = await _order_paid_events(c, order["order_id"])
    assert (paid.data["review"], paid.data["paid_minor"], paid.data["amount_minor"]) == (
        "overpaid",
        15_000,
        10_000,
    )
    review = await _review_of(c, order["order_id"])
    assert (review["reasons"], review["blocking"]) == (["overpaid"], False)
    assert review["allowed_decisions"] == ["accept", "dismiss", "refund"]

    r = await _decide(c, review["review_id"], "refund", "refund the excess")
    assert r.status_code == 200, r.text
    refund = await c.http.get(
        f"/v1/refunds/{r.json()['refund_id']}", headers=c.auth("ops", admin=True)
    )
    assert refund.json()["amount"] == {"value": "50.00", "currency": "CNY"}


async def test_a_payment_for_no_order_of_ours_can_only_be_dismissed(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    ghost = {
        "order_id": str(uuid.uuid4()),
        "user_id": _user(),
        "package_id": "standard",
        "credits": 1100,
        "amount": {"value": "100.00", "currency": "CNY"},
        "provider_session_id": None,
    }
    await c.publish_payment(_paid(ghost), ghost["user_id"])

    async def listed() -> dict[str, Any] | None:
        items = [
            r
            for r in await _reviews(c, status="open")
            if r["details"]["notification"]["order_id"] == ghost["order_id"]
        ]
        return items[0] if items else None

    review = await c.eventually(listed, what="unknown order listed")
    assert (review["order_id"], review["reasons"], review["allowed_decisions"]) == (
        None,
        ["unknown_order"],
        ["dismiss"],
    )
    for refused in ("accept", "refund"):
        r = await _decide(c, review["review_id"], refused)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "decision_not_allowed")
    r = await _decide(c, review["review_id"], "dismiss", "refunded in the Stripe dashboard")
    assert (r.status_code, r.json()["status"]) == (200, "dismissed")
    one = await c.http.get(
        f"/v1/admin/reviews/{review['review_id']}", headers=c.auth("ops", admin=True)
    )
    assert one.json()["decision_reason"] == "refunded in the Stripe dashboard"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (f"/v1/admin/reviews/{uuid.uuid4()}/accept", {"reason": "x"}, 404, "not_found"),
        ("/v1/admin/reviews/not-a-uuid/dismiss", {"reason": "x"}, 404, "not_found"),
        (f"/v1/admin/reviews/{uuid.uuid4()}/accept", {}, 422, "validation_error"),
        (f"/v1/admin/reviews/{uuid.uuid4()}/accept", {"reason": ""}, 422, "validation_error"),
        (f"/v1/admin/reviews/{uuid.uuid4()}/accept", {"reason": "x", "more": 1}, 422, None),
    ],
)
async def test_bad_decisions_are_refused_clearly(
    checkout: CheckoutUnderTest,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    r = await checkout.http.post(path, json=body, headers=checkout.auth("ops", admin=True))
    assert r.status_code == status, r.text
    if code is not None:
        assert r.json()["error"]["code"] == code
    bad = await checkout.http.get(
        "/v1/admin/reviews", params={"status": "maybe"}, headers=checkout.auth("ops", admin=True)
    )
    assert bad.status_code == 422
