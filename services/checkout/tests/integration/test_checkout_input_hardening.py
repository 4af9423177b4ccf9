"""Issue 10's inputs on checkout's API: control characters, auth before the body, the return_url
allow-list, the per-user limits on orders (429 + Retry-After), a zero refund, a long cursor."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import jwt
import pytest

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest, MakeCheckout

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def test_control_characters_anywhere_are_4xx_never_500(checkout: CheckoutUnderTest) -> None:
    admin = checkout.auth("ops", admin=True)
    for url in ("/v1/orders?user_id=a%00b", "/v1/refunds?order_id=x%00", "/v1/orders/a%00b"):
        r = await checkout.http.get(url, headers=admin)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input"), url
    r = await checkout.http.post(
        "/v1/refunds",
        headers=admin,
        json={"order_id": str(uuid.uuid4()), "reason": "nul\u0000here"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")


async def test_a_subject_with_a_nul_or_only_blanks_is_401(checkout: CheckoutUnderTest) -> None:
    secret = checkout.settings.jwt_secret.get_secret_value()
    for sub in ("a\u0000b", "   ", ""):
        token = jwt.encode({"sub": sub, "exp": 4_000_000_000}, secret, algorithm="HS256")
        r = await checkout.http.get("/v1/orders", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, (sub, r.text)


async def test_a_malformed_body_is_401_without_a_token_then_422(
    checkout: CheckoutUnderTest,
) -> None:
    json_type = {"Content-Type": "application/json"}
    for body in (b"{not json", b"\xff\xfe\xfd"):
        anonymous = await checkout.http.post("/v1/orders", content=body, headers=json_type)
        assert anonymous.status_code == 401, anonymous.text
        signed_in = await checkout.http.post(
            "/v1/orders", content=body, headers={**checkout.auth(_user()), **json_type}
        )
        assert signed_in.status_code == 422, signed_in.text
        assert signed_in.json()["error"]["code"] == "validation_error"


async def test_a_body_over_the_cap_is_413(checkout: CheckoutUnderTest) -> None:
    big = b'{"package_id": "' + b"x" * (checkout.settings.http_max_body_bytes + 1) + b'"}'
    r = await checkout.http.post(
        "/v1/orders",
        content=big,
        headers={**checkout.auth(_user()), "Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")


async def test_return_url_only_to_allowed_hosts(checkout: CheckoutUnderTest) -> None:
    for url in ("https://evil.example/phish", "https://shop.example.evil.example/x"):
        r = await checkout.create_order(_user(), return_url=url)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "return_url_not_allowed"
    ok = await checkout.create_order(_user(), return_url="https://SHOP.example/back")
    assert ok.status_code == 201, ok.text


async def test_open_orders_per_user_are_limited_with_retry_after(
    make_checkout: MakeCheckout,
) -> None:
    async with make_checkout(max_open_orders_per_user=2) as checkout:
        user = _user()
        for _ in range(2):
            assert (await checkout.create_order(user)).status_code == 201
        r = await checkout.create_order(user)
        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "too_many_open_orders"
        # Until the first open order expires (its session is opened a moment after the order).
        assert 1 <= int(r.headers["Retry-After"]) <= checkout.settings.order_ttl_minutes * 60 + 5
        # An idempotent replay is no new order; another user is not limited by this one.
        assert (await checkout.create_order(_user())).status_code == 201
        # Cancelling one frees a place.
        first = (await checkout.http.get("/v1/orders", headers=checkout.auth(user))).json()
        order_id = first["items"][0]["order_id"]
        cancel = await checkout.http.post(
            f"/v1/orders/{order_id}/cancel", headers=checkout.auth(user)
        )
        assert cancel.status_code == 200, cancel.text
        assert (await checkout.create_order(user)).status_code == 201


async def test_order_creation_rate_per_user_is_limited_with_retry_after(
    make_checkout: MakeCheckout,
) -> None:
    async with make_checkout(
        max_orders_per_user_per_window=3, order_rate_window_s=600, max_open_orders_per_user=100
    ) as checkout:
        user = _user()
        for i in range(3):
            assert (await checkout.create_order(user, key=f"k{i}")).status_code == 201
        replay = await checkout.create_order(user, key="k0")
        assert replay.status_code == 201  # a replay creates nothing, so it is not limited
        r = await checkout.create_order(user)
        assert r.status_code == 429, r.text
        assert r.json()["error"]["code"] == "order_rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 600


async def test_a_zero_refund_is_422(checkout: CheckoutUnderTest) -> None:
    r = await checkout.http.post(
        "/v1/refunds",
        headers={**checkout.auth("ops", admin=True), "Idempotency-Key": "z"},
        json={
            "order_id": str(uuid.uuid4()),
            "amount": {"value": "0.00", "currency": "CNY"},
            "reason": "requested_by_customer",
        },
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")


@pytest.mark.parametrize("length", [10, 600, 20_000])
async def test_a_cursor_of_any_length_is_400(checkout: CheckoutUnderTest, length: int) -> None:
    admin = checkout.auth("ops", admin=True)
    for url in ("/v1/orders", "/v1/refunds", "/v1/admin/reviews", "/v1/admin/usdt/transfers"):
        r = await checkout.http.get(url, params={"cursor": "9" * length}, headers=admin)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_request"), url
