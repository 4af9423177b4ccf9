"""Payment methods by currency, prices in several currencies, QR images and cancelling, through
checkout's HTTP API with the real Stripe provider (stripe-mock), PostgreSQL and Kafka."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def test_payment_methods_depend_on_the_currency(checkout: CheckoutUnderTest) -> None:
    expected = {
        "MYR": ["card", "fpx", "grabpay", "alipay"],
        "USD": ["card", "us_bank_account", "alipay"],
        "EUR": ["card", "sepa_debit", "ideal"],
        "GBP": ["card", "bacs_debit"],
        "CNY": ["card", "alipay", "wechat_pay"],
    }
    for currency, types in expected.items():
        r = await checkout.http.get("/v1/payment-methods", params={"currency": currency.lower()})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["currency"] == currency
        by_method = {m["payment_method"]: m for m in body["methods"]}
        assert by_method["stripe_payment_intent"] == {
            "payment_method": "stripe_payment_intent",
            "provider": "stripe",
            "types": types,
        }
        assert by_method["stripe_checkout"]["provider"] == "stripe"
        # Only Stripe is configured in this test app: the other providers are not offered.
        assert set(by_method) == {"stripe_checkout", "stripe_payment_intent"}


async def test_payment_methods_refuse_a_missing_or_malformed_currency(
    checkout: CheckoutUnderTest,
) -> None:
    for params in ({}, {"currency": "C1"}, {"currency": "TOOLONG"}):
        r = await checkout.http.get("/v1/payment-methods", params=params)
        assert r.status_code == 422, params
        assert r.json()["error"]["code"] == "validation_error"


async def test_an_order_in_another_currency_gets_a_payment_intent(
    checkout: CheckoutUnderTest,
) -> None:
    user = _user()
    r = await checkout.create_order(
        user, "standard", payment_method="stripe_payment_intent", currency="eur"
    )
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["amount"] == {"value": "13.00", "currency": "EUR"}
    assert o["provider"] == "stripe"
    assert o["client_secret"], "a PaymentIntent answers with its client_secret"
    assert o["provider_session_id"].startswith("pi_")
    # What Stripe answered for this PaymentIntent (stripe-mock answers its fixture, `card`): a
    # subset of what was asked for EUR, never empty.
    assert o["payment_method_types"]
    assert set(o["payment_method_types"]) <= {"card", "sepa_debit", "ideal"}
    assert (o["qr_code"], o["qr_image_url"], o["deposit"]) == (None, None, None)
    assert o["refunded"] == {"value": "0.00", "currency": "EUR"}
    again = await checkout.order(user, o["order_id"])
    assert again.json() == o


async def test_currency_and_method_refusals(checkout: CheckoutUnderTest) -> None:
    user = _user()
    jpy = await checkout.create_order(user, "standard", currency="JPY")
    assert jpy.status_code == 422
    assert jpy.json()["error"]["code"] == "currency_not_offered"
    assert "CNY, USD, EUR, GBP, MYR, USDT" in jpy.json()["error"]["message"]
    # Alipay is not configured in this app: refused, and the message names what is offered.
    alipay = await checkout.create_order(user, "standard", payment_method="alipay_qr")
    assert alipay.status_code == 422
    assert alipay.json()["error"]["code"] == "payment_method_unavailable"
    assert "stripe_checkout" in alipay.json()["error"]["message"]
    # A Stripe PaymentIntent in USDT does not exist.
    usdt = await checkout.create_order(
        user, "standard", payment_method="stripe_payment_intent", currency="USDT"
    )
    assert usdt.status_code == 422
    assert usdt.json()["error"]["code"] == "payment_method_unavailable"
    async with checkout.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM orders WHERE user_id = $1", user) == 0


async def test_qr_image_in_svg_and_png(checkout: CheckoutUnderTest) -> None:
    user = _user()
    o = (await checkout.create_order(user)).json()
    none = await checkout.http.get(f"/v1/orders/{o['order_id']}/qr", headers=checkout.auth(user))
    assert none.status_code == 404
    assert none.json()["error"]["code"] == "qr_not_available"
    # The QR string as an Alipay precreate returns it (the Alipay tests cover the real flow).
    async with checkout.pool.acquire() as conn:
        await conn.execute(
            "UPDATE orders SET qr_code = 'https://qr.alipay.com/bax00000test' WHERE id = $1",
            uuid.UUID(o["order_id"]),
        )
    url = f"/v1/orders/{o['order_id']}/qr"
    svg = await checkout.http.get(url, headers=checkout.auth(user))
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content.startswith(b"<svg")
    png = await checkout.http.get(url, params={"format": "png"}, headers=checkout.auth(user))
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert (await checkout.order(user, o["order_id"])).json()["qr_image_url"] == url
    bad = await checkout.http.get(url, params={"format": "gif"}, headers=checkout.auth(user))
    assert bad.status_code == 422
    other = await checkout.http.get(url, headers=checkout.auth(_user()))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"


async def _cancel(c: CheckoutUnderTest, user: str, order_id: str, **kw: Any) -> Any:
    return await c.http.post(f"/v1/orders/{order_id}/cancel", headers=c.auth(user, **kw))


async def test_cancel_a_pending_order_closes_it_and_is_idempotent(
    checkout: CheckoutUnderTest,
) -> None:
    user = _user()
    for method in ("stripe_checkout", "stripe_payment_intent"):
        o = (await checkout.create_order(user, payment_method=method)).json()
        r = await _cancel(checkout, user, o["order_id"])
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        again = await _cancel(checkout, user, o["order_id"])
        assert again.status_code == 200
        assert again.json()["status"] == "cancelled"
    events = await checkout.orders_events(expect=4)
    changes = [e.data for e in events if e.type == "paystream.order.status_changed.v1"]
    assert [(c["old_status"], c["new_status"]) for c in changes] == [("pending", "cancelled")] * 2


async def test_cancel_refusals(checkout: CheckoutUnderTest) -> None:
    user = _user()
    o = (await checkout.create_order(user)).json()
    assert (await _cancel(checkout, _user(), o["order_id"])).status_code == 404
    assert (await _cancel(checkout, user, "not-a-uuid")).status_code == 404
    await checkout.pay(o)
    paid = await _cancel(checkout, user, o["order_id"])
    assert paid.status_code == 409
    assert paid.json()["error"]["code"] == "order_not_cancellable"
    # An admin may cancel anyone's pending order.
    other = (await checkout.create_order(_user())).json()
    by_admin = await _cancel(checkout, "ops", other["order_id"], admin=True)
    assert by_admin.status_code == 200
    assert by_admin.json()["status"] == "cancelled"


async def test_a_payment_after_cancel_is_credited_not_ignored(checkout: CheckoutUnderTest) -> None:
    user = _user()
    o = (await checkout.create_order(user)).json()
    assert (await _cancel(checkout, user, o["order_id"])).json()["status"] == "cancelled"
    paid = await checkout.pay(o)
    assert paid["status"] == "paid"
    async with checkout.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT old_status, new_status FROM order_status_changes WHERE order_id = $1"
            " ORDER BY id",
            uuid.UUID(o["order_id"]),
        )
    assert [(r["old_status"], r["new_status"]) for r in rows] == [
        (None, "pending"),
        ("pending", "cancelled"),
        ("cancelled", "paid"),
    ]
