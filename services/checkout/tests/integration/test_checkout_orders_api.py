"""The orders API on the real PostgreSQL and the real stripe-mock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from paystream.checkout.catalog.service import load_catalog
from paystream.checkout.orders import repository, service
from paystream.checkout.orders.domain import OrderStatus
from paystream.shared.topics import ORDERS_EVENTS

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest, MakeCheckout

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _count_orders(c: CheckoutUnderTest) -> int:
    async with c.pool.acquire() as conn:
        n: int = await conn.fetchval("SELECT count(*) FROM orders")
    return n


async def test_packages_need_no_auth(checkout: CheckoutUnderTest) -> None:
    r = await checkout.http.get("/v1/packages")
    assert r.status_code == 200
    assert r.json()["packages"][1] == {
        "id": "standard",
        "name": "Standard",
        "credits": 1100,
        "unit": "credits",
        "validity": "P6M",
        "price": {"value": "100.00", "currency": "CNY"},
        "prices": [
            {"value": "100.00", "currency": "CNY"},
            {"value": "14.00", "currency": "USD"},
            {"value": "13.00", "currency": "EUR"},
            {"value": "11.00", "currency": "GBP"},
            {"value": "64.00", "currency": "MYR"},
            {"value": "14.000000", "currency": "USDT"},
        ],
    }
    assert [p["id"] for p in r.json()["packages"]] == ["trial", "standard", "value", "premium"]
    assert r.json()["units"] == [
        {"id": "credits", "name": "credits"},
        {"id": "receives", "name": "receives"},
    ]


async def test_create_order_opens_a_stripe_checkout_session(checkout: CheckoutUnderTest) -> None:
    user = _user()
    before = datetime.now().astimezone()
    r = await checkout.create_order(user, "standard", return_url="https://shop.example/back")
    assert r.status_code == 201, r.text
    assert "Idempotent-Replayed" not in r.headers
    o = r.json()
    assert o["status"] == "pending"
    assert o["amount"] == {"value": "100.00", "currency": "CNY"}
    assert o["credits"] == 1100
    assert o["package_id"] == "standard"
    assert o["payment_method"] == "stripe_checkout"
    # stripe-mock validated the request against Stripe's OpenAPI and answered with a session.
    assert o["provider_session_id"].startswith("cs_test_")
    assert o["payment_url"].startswith("https://checkout.stripe.com/")
    uuid.UUID(o["order_id"])
    expires = datetime.fromisoformat(o["expires_at"])
    assert timedelta(minutes=31) <= expires - before <= timedelta(minutes=32)
    assert o["paid_at"] is None
    assert o["amount_mismatch"] is False

    got = await checkout.order(user, o["order_id"])
    assert got.status_code == 200
    assert got.json() == o
    async with checkout.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM orders WHERE id = $1", uuid.UUID(o["order_id"]))
        outbox = await conn.fetch("SELECT topic, key FROM outbox")
    assert row["return_url"] == "https://shop.example/back"
    assert row["amount_minor"] == 10000
    assert row["status"] == "pending"
    # OrderCreatedV1 was written with the order (under its logical topic); the relay may already
    # have published it.
    assert all((t, k) == (ORDERS_EVENTS, user) for t, k in outbox)


async def test_idempotent_replay_returns_the_same_order(checkout: CheckoutUnderTest) -> None:
    user, key = _user(), str(uuid.uuid4())
    first = await checkout.create_order(user, "trial", key=key)
    again = await checkout.create_order(user, "trial", key=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await _count_orders(checkout) == 1

    # Keys are per user: the same key from someone else is their own, new order.
    other = await checkout.create_order(_user(), "trial", key=key)
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other.headers
    assert other.json()["order_id"] != first.json()["order_id"]


async def test_key_reused_with_another_body_is_refused(checkout: CheckoutUnderTest) -> None:
    user, key = _user(), str(uuid.uuid4())
    assert (await checkout.create_order(user, "trial", key=key)).status_code == 201
    for body in (
        {"package_id": "premium"},
        {"package_id": "trial", "return_url": "https://shop.example/other"},
    ):
        r = await checkout.create_order(user, key=key, **body)  # type: ignore[arg-type]
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "idempotency_key_reused"
    assert await _count_orders(checkout) == 1


async def test_concurrent_requests_with_one_key_make_one_order(
    make_checkout: MakeCheckout,
) -> None:
    async with make_checkout(pg_pool_min=10) as checkout:
        await _concurrent_requests_with_one_key(checkout)


async def _concurrent_requests_with_one_key(checkout: CheckoutUnderTest) -> None:
    # The pool is warm (10 open connections), so the requests really overlap in PostgreSQL.
    user, key = _user(), str(uuid.uuid4())
    rs = await asyncio.gather(*(checkout.create_order(user, "value", key=key) for _ in range(8)))
    assert [r.status_code for r in rs] == [201] * 8, [r.text for r in rs]
    assert len({r.json()["order_id"] for r in rs}) == 1
    # Everyone is sent to the same payment page.
    assert len({r.json()["provider_session_id"] for r in rs}) == 1
    assert all(r.json()["payment_url"] for r in rs)
    assert sum("Idempotent-Replayed" not in r.headers for r in rs) == 1
    assert await _count_orders(checkout) == 1
    async with checkout.pool.acquire() as conn:
        created = await conn.fetchval(
            "SELECT count(*) FROM order_status_changes WHERE reason = 'created'"
        )
    assert created == 1


async def test_two_transactions_racing_on_one_key_make_one_order(
    checkout: CheckoutUnderTest,
) -> None:
    """Both transactions miss the key on their first read; the unique constraint decides."""
    config = service.CheckoutConfig(
        order_ttl=timedelta(minutes=30),
        default_return_url="https://shop.example/",
    )
    cmd = service.PlaceOrder(
        user_id=_user(),
        package_id="trial",
        payment_method="stripe_checkout",
        return_url=None,
        idempotency_key="race",
    )
    trial = load_catalog().get("trial")
    assert trial is not None
    now = datetime.now().astimezone()
    async with checkout.pool.acquire() as a, checkout.pool.acquire() as b:
        ta, tb = a.transaction(), b.transaction()
        await ta.start()
        await tb.start()
        first, first_created = await service.open_order(a, cmd, trial, config=config, now=now)
        # b reads no order for the key (a has not committed), inserts, and blocks on a's row.
        second = asyncio.create_task(service.open_order(b, cmd, trial, config=config, now=now))
        await asyncio.sleep(0.3)
        assert not second.done(), "the second INSERT must wait for the first transaction"
        await ta.commit()
        order, created = await second
        await tb.commit()
    assert first_created is True
    assert created is False
    assert order.id == first.id
    assert await _count_orders(checkout) == 1


async def test_unknown_package_is_refused(checkout: CheckoutUnderTest) -> None:
    r = await checkout.create_order(_user(), "platinum")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_package"
    assert await _count_orders(checkout) == 0


async def test_unsupported_payment_method_is_refused(checkout: CheckoutUnderTest) -> None:
    r = await checkout.http.post(
        "/v1/orders",
        headers=checkout.auth(_user()),
        json={"package_id": "standard", "payment_method": "cash"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["details"][0]["loc"] == ["body", "payment_method"]
    bad_url = await checkout.create_order(_user(), return_url="javascript:alert(1)")
    assert bad_url.status_code == 422
    long_key = await checkout.create_order(_user(), key="k" * 256)
    assert long_key.status_code == 422
    assert await _count_orders(checkout) == 0


async def test_no_or_bad_token_is_401(checkout: CheckoutUnderTest) -> None:
    body = {"package_id": "standard", "payment_method": "stripe_checkout"}
    assert (await checkout.http.post("/v1/orders", json=body)).status_code == 401
    forged = {"Authorization": "Bearer not.a.token"}
    r = await checkout.http.post("/v1/orders", json=body, headers=forged)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert (await checkout.http.get("/v1/orders")).status_code == 401
    assert (await checkout.http.get(f"/v1/orders/{uuid.uuid4()}")).status_code == 401
    assert await _count_orders(checkout) == 0


async def test_another_users_order_is_not_found(checkout: CheckoutUnderTest) -> None:
    alice, mallory = _user(), _user()
    order = (await checkout.create_order(alice, "trial")).json()
    r = await checkout.order(mallory, order["order_id"])
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert (await checkout.order(alice, order["order_id"])).status_code == 200
    assert (await checkout.order("ops", order["order_id"], admin=True)).status_code == 200
    assert (await checkout.order(alice, str(uuid.uuid4()))).status_code == 404
    assert (await checkout.order(alice, "not-a-uuid")).status_code == 404
    # Listing as mallory, even filtered by alice's id, shows nothing of alice's.
    r = await checkout.http.get(
        "/v1/orders", params={"user_id": alice}, headers=checkout.auth(mallory)
    )
    assert r.status_code == 200
    assert r.json() == {"items": [], "next_cursor": None}


async def test_list_filters_by_status_and_pages_newest_first(
    checkout: CheckoutUnderTest,
) -> None:
    alice, bob = _user(), _user()
    ids = [(await checkout.create_order(alice, "trial")).json()["order_id"] for _ in range(5)]
    bob_order = (await checkout.create_order(bob, "premium")).json()["order_id"]
    # Two of alice's orders are paid (through the service, as the consumer would).
    async with checkout.pool.acquire() as conn, conn.transaction():
        for oid in (ids[1], ids[3]):
            order = await repository.get_order_for_update(conn, uuid.UUID(oid))
            assert order is not None
            await service.change_status(
                conn,
                order,
                OrderStatus.PAID,
                reason="test",
                now=datetime.now().astimezone(),
            )

    async def pages(params: dict[str, str], user: str, admin: bool = False) -> list[list[str]]:
        out: list[list[str]] = []
        cursor: str | None = None
        while True:
            q = dict(params, **({"cursor": cursor} if cursor else {}))
            r = await checkout.http.get(
                "/v1/orders", params=q, headers=checkout.auth(user, admin=admin)
            )
            assert r.status_code == 200, r.text
            out.append([o["order_id"] for o in r.json()["items"]])
            cursor = r.json()["next_cursor"]
            if cursor is None:
                return out

    newest_first = list(reversed(ids))
    assert await pages({"limit": "2"}, alice) == [newest_first[:2], newest_first[2:4], [ids[0]]]
    pending = [i for i in newest_first if i not in (ids[1], ids[3])]
    assert await pages({"limit": "2", "status": "pending"}, alice) == [pending[:2], pending[2:]]
    assert await pages({"status": "paid"}, alice) == [[ids[3], ids[1]]]
    assert await pages({}, bob) == [[bob_order]]
    assert await pages({}, "ops", admin=True) == [[bob_order, *newest_first]]
    assert await pages({"user_id": bob}, "ops", admin=True) == [[bob_order]]

    auth = checkout.auth(alice)
    for params, status, code in (
        ({"status": "shipped"}, 422, "validation_error"),
        ({"limit": "0"}, 422, "validation_error"),
        ({"limit": "101"}, 422, "validation_error"),
        ({"cursor": "garbage!"}, 400, "bad_request"),
    ):
        r = await checkout.http.get("/v1/orders", params=params, headers=auth)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), params


async def test_stripe_unreachable_is_502_and_the_order_fails(
    make_checkout: MakeCheckout, closed_port: int
) -> None:
    async with make_checkout(
        stripe_api_base=f"http://127.0.0.1:{closed_port}", stripe_max_network_retries=0
    ) as c:
        user, key = _user(), str(uuid.uuid4())
        r = await c.create_order(user, "standard", key=key)
        assert r.status_code == 502, r.text
        assert r.json()["error"]["code"] == "upstream_error"
        async with c.pool.acquire() as conn:
            rows = await conn.fetch("SELECT id, status, failure_reason FROM orders")
            assert len(rows) == 1
            assert rows[0]["status"] == "failed"
            assert "APIConnectionError" in rows[0]["failure_reason"]
            history = await conn.fetch(
                "SELECT old_status, new_status FROM order_status_changes ORDER BY id"
            )
        assert [(h["old_status"], h["new_status"]) for h in history] == [
            (None, "pending"),
            ("pending", "failed"),
        ]
        # The same retry gets the same answer; a new key is a new order.
        again = await c.create_order(user, "standard", key=key)
        assert again.status_code == 502
        assert await _count_orders(c) == 1
        oid = str(rows[0]["id"])
        got = (await c.order(user, oid)).json()
        assert (got["status"], got["payment_url"], got["provider_session_id"]) == (
            "failed",
            None,
            None,
        )
        events = await c.orders_events(expect=2)
        assert [(e.type, e.data.get("new_status")) for e in events] == [
            ("paystream.order.created.v1", None),
            ("paystream.order.status_changed.v1", "failed"),
        ]


async def test_a_replay_completes_an_order_whose_first_request_died(
    checkout: CheckoutUnderTest,
) -> None:
    """The process died between the order's transaction and the Stripe call: a retry with the
    same key opens the session for that same order."""
    user, key = _user(), str(uuid.uuid4())
    first = await checkout.create_order(user, "trial", key=key)
    oid = uuid.UUID(first.json()["order_id"])
    async with checkout.pool.acquire() as conn:
        await conn.execute(
            "UPDATE orders SET provider_session_id = NULL, payment_url = NULL WHERE id = $1", oid
        )
    again = await checkout.create_order(user, "trial", key=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order_id"] == str(oid)
    assert again.json()["provider_session_id"].startswith("cs_test_")
    assert again.json()["payment_url"]
