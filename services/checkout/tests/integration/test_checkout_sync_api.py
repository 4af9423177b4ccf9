"""POST /v1/orders/{id}/sync on PostgreSQL, Kafka and stripe-mock: who may ask, how often, and
what an order whose provider is not configured here gets. (Payments found by asking, and the
reconciler, are end to end: tests/e2e/test_e2e_reconcile.py.)"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _sync(c: CheckoutUnderTest, user: str, order_id: str, *, admin: bool = False) -> Any:
    return await c.http.post(f"/v1/orders/{order_id}/sync", headers=c.auth(user, admin=admin))


async def test_the_owner_asks_stripe_and_a_second_ask_is_rate_limited(
    make_checkout: Any,
) -> None:
    async with make_checkout(order_sync_min_interval_s=60) as c:
        user = _user()
        order = (await c.create_order(user)).json()
        r = await _sync(c, user, order["order_id"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["order"]["order_id"] == order["order_id"]
        # stripe-mock's session is open and unpaid: nothing to apply.
        assert body["provider"]["state"] == "open"
        assert body["order"]["status"] == "pending"

        again = await _sync(c, user, order["order_id"])
        assert again.status_code == 429, again.text
        assert again.json()["error"]["code"] == "rate_limited"
        retry_after = int(again.headers["Retry-After"])
        assert 1 <= retry_after <= 60
        assert again.json()["error"]["details"]["retry_after_s"] == retry_after
        # An admin is held to the same limit: it is the provider's, not the caller's.
        admin = await _sync(c, "ops-admin", order["order_id"], admin=True)
        assert admin.status_code == 429


async def test_another_users_or_an_unknown_order_is_not_found(checkout: CheckoutUnderTest) -> None:
    owner = _user()
    order = (await checkout.create_order(owner)).json()
    for who, oid in (
        (_user(), order["order_id"]),  # not yours: 404, never 403, so ids do not leak
        (owner, str(uuid.uuid4())),
        (owner, "not-a-uuid"),
    ):
        r = await _sync(checkout, who, oid)
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"
    assert (await checkout.http.post(f"/v1/orders/{order['order_id']}/sync")).status_code == 401
    # The refusals asked nobody: the owner's first sync is not rate-limited by them.
    assert (await _sync(checkout, owner, order["order_id"])).status_code == 200


async def test_an_order_whose_provider_is_not_configured_is_refused(
    checkout: CheckoutUnderTest,
) -> None:
    # Placed while Alipay was configured (or by another deployment's settings): not here.
    user = _user()
    oid = uuid.uuid4()
    async with checkout.pool.acquire() as conn:
        await conn.execute(
            """
            INSERT INTO orders (id, user_id, package_id, credits, amount_minor, currency,
                payment_method, status, expires_at, provider, provider_session_id, grants, lines)
            VALUES ($1, $2, 'standard', 1100, 10000, 'CNY', 'alipay_qr', 'pending',
                now() + interval '30 minutes', 'alipay', $3, '[]', '[]')
            """,
            oid,
            user,
            oid.hex,
        )
    r = await _sync(checkout, user, str(oid))
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "provider_not_configured"
    assert (await checkout.order(user, str(oid))).json()["status"] == "pending"


async def test_a_settled_order_is_answered_without_asking(checkout: CheckoutUnderTest) -> None:
    user = _user()
    order = await checkout.pay((await checkout.create_order(user)).json())
    for _ in range(2):  # nothing is asked, so nothing is rate-limited
        r = await _sync(checkout, user, order["order_id"])
        assert r.status_code == 200, r.text
        assert r.json() == {"order": r.json()["order"], "provider": None}
        assert r.json()["order"]["status"] == "paid"
