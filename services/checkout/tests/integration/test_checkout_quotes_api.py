"""The price book and quotes over HTTP, on the real PostgreSQL, Kafka and stripe-mock: plans and
products are listed, a quantity or a custom amount is quoted and ordered for exactly the quoted
amount, and bad input (out-of-range quantities and amounts, altered, foreign or expired quotes)
is a 4xx that charges nothing."""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from paystream.shared.events import OrderPaidV1

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest, MakeCheckout

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _quote(c: CheckoutUnderTest, user: str, **body: Any) -> Any:
    return await c.http.post("/v1/quotes", headers=c.auth(user), json=body)


async def _order(c: CheckoutUnderTest, user: str, quote: str, **body: Any) -> Any:
    headers = {**c.auth(user), "Idempotency-Key": body.pop("key", uuid.uuid4().hex)}
    return await c.http.post(
        "/v1/orders",
        headers=headers,
        json={"quote": quote, "payment_method": "stripe_checkout", **body},
    )


async def _orders_of(c: CheckoutUnderTest, user: str) -> int:
    async with c.pool.acquire() as conn:
        n: int = await conn.fetchval("SELECT count(*) FROM orders WHERE user_id = $1", user)
    return n


async def test_plans_and_products_are_public(checkout: CheckoutUnderTest) -> None:
    plans = (await checkout.http.get("/v1/plans")).json()["plans"]
    assert [(p["id"], p["allowance"], p["interval"], p["free"], p["default"]) for p in plans] == [
        ("basic", 3, "month", True, True),
        ("pro", 20, "month", False, False),
        ("vip", 100, "month", False, False),
        ("pro_annual", 20, "year", False, False),
    ]
    assert plans[1]["prices"][0] == {"value": "29.00", "currency": "CNY"}
    products = (await checkout.http.get("/v1/products")).json()["products"]
    receives = products[0]
    assert (receives["id"], receives["unit"], receives["validity"]) == (
        "receives",
        "receives",
        None,
    )
    cny = receives["prices"][0]
    assert [(t["first"], t["up_to"], t["unit_amount"]["value"]) for t in cny["tiers"]] == [
        (1, 4, "2.00"),
        (5, 9, "1.80"),
        (10, 19, "1.70"),
        (20, 100, "1.60"),
    ]
    assert cny["custom_amount"]["min"] == {"value": "2.00", "currency": "CNY"}
    assert [r["threshold"]["value"] for r in cny["custom_amount"]["rates"]] == [
        "2.00",
        "9.00",
        "17.00",
        "32.00",
    ]
    catalog = (await checkout.http.get("/v1/packages")).json()
    assert [p["id"] for p in catalog["products"]] == ["receives", "credits"]


@pytest.mark.parametrize(
    ("quantity", "total"), [(1, "2.00"), (5, "9.00"), (10, "17.00"), (20, "32.00")]
)
async def test_the_brief_s_prices_quoted(
    checkout: CheckoutUnderTest, quantity: int, total: str
) -> None:
    r = await _quote(checkout, _user(), product_id="receives", quantity=quantity, currency="CNY")
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == {"value": total, "currency": "CNY"}
    assert r.json()["quantity"] == quantity


async def test_a_quantity_is_ordered_paid_and_granted_exactly_as_quoted(
    checkout: CheckoutUnderTest,
) -> None:
    user = _user()
    r = await _quote(checkout, user, product_id="receives", quantity=20, currency="CNY")
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["kind"] == "quantity"
    assert q["unit_amount"] == {"value": "1.60", "currency": "CNY"}
    assert q["lines"] == [
        {
            "description": "receives — 20 receives (tier 20-100 at 1.60)",
            "quantity": 20,
            "unit_amount": {"value": "1.60", "currency": "CNY"},
            "amount": {"value": "32.00", "currency": "CNY"},
        }
    ]
    assert q["grants"] == [
        {
            "unit": "receives",
            "quantity": 20,
            "source": "purchase",
            "validity": None,
            "expires_at": None,
        }
    ]

    o = await _order(checkout, user, q["token"])
    assert o.status_code == 201, o.text
    order = o.json()
    assert (order["kind"], order["package_id"], order["credits"]) == ("quantity", "receives", 20)
    assert order["amount"] == {"value": "32.00", "currency": "CNY"}
    assert order["lines"] == q["lines"]
    assert order["grants"] == q["grants"]
    assert order["payment_url"], "stripe-mock opened the session"

    await checkout.pay(order)
    events = await checkout.orders_events(expect=4)
    (paid,) = [e.payload_as(OrderPaidV1) for e in events if e.type == OrderPaidV1.TYPE]
    assert (paid.amount_minor, paid.currency, paid.package_id) == (3200, "CNY", "receives")
    assert [(g.unit, g.quantity, g.cost_minor) for g in paid.grants] == [("receives", 20, 3200)]
    assert [(line.quantity, line.unit_amount_minor) for line in paid.lines] == [(20, 160)]


async def test_a_custom_amount_buys_what_its_rate_gives(checkout: CheckoutUnderTest) -> None:
    user = _user()
    r = await _quote(
        checkout, user, product_id="receives", amount={"value": "35.00", "currency": "cny"}
    )
    assert r.status_code == 201, r.text
    q = r.json()
    assert (q["kind"], q["quantity"], q["unit_amount"]) == ("custom_amount", 21, None)
    assert q["lines"][0]["description"] == (
        "receives — 21 receives for 35.00 CNY (rate 1 per 1.60 from 32.00)"
    )
    credits = await _quote(
        checkout, user, product_id="credits", amount={"value": "150.00", "currency": "CNY"}
    )
    assert credits.json()["quantity"] == 1650
    assert credits.json()["grants"][0]["validity"] == "P6M"
    o = await _order(checkout, user, q["token"], payment_method="stripe_payment_intent")
    assert o.status_code == 201, o.text
    assert (o.json()["credits"], o.json()["amount"]["value"]) == (21, "35.00")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"product_id": "receives", "quantity": 0}, 422, "quantity_out_of_range"),
        ({"product_id": "receives", "quantity": 101}, 422, "quantity_out_of_range"),
        ({"product_id": "receives", "quantity": -5}, 422, "quantity_out_of_range"),
        (
            {"product_id": "receives", "amount": {"value": "1.00", "currency": "CNY"}},
            422,
            "amount_out_of_range",
        ),
        (
            {"product_id": "receives", "amount": {"value": "500.00", "currency": "CNY"}},
            422,
            "amount_out_of_range",
        ),
        (
            {"product_id": "receives", "amount": {"value": "10.50", "currency": "CNY"}},
            422,
            "amount_off_step",
        ),
        (
            {"product_id": "receives", "amount": {"value": "10.001", "currency": "CNY"}},
            422,
            "validation_error",
        ),
        (
            {"product_id": "receives", "amount": {"value": "10.00", "currency": "USD"}},
            422,
            "custom_amount_not_offered",
        ),
        ({"product_id": "credits", "quantity": 5}, 422, "quantity_not_offered"),
        ({"product_id": "receives", "quantity": 5, "currency": "EUR"}, 422, "currency_not_offered"),
        ({"product_id": "gold", "quantity": 5}, 422, "unknown_product"),
        ({"package_id": "gold"}, 422, "unknown_package"),
        ({"product_id": "receives"}, 422, "validation_error"),
        (
            {
                "product_id": "receives",
                "quantity": 5,
                "amount": {"value": "10.00", "currency": "CNY"},
            },
            422,
            "validation_error",
        ),
        ({"product_id": "receives", "quantity": "5"}, 422, "validation_error"),
        ({"product_id": "receives", "quantity": 5.0}, 422, "validation_error"),
        ({"package_id": "standard", "quantity": 2}, 422, "validation_error"),
    ],
)
async def test_bad_quotes_are_4xx_with_their_code(
    checkout: CheckoutUnderTest, body: dict[str, Any], status: int, code: str
) -> None:
    r = await _quote(checkout, _user(), **body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


async def test_quotes_need_a_bearer_token(checkout: CheckoutUnderTest) -> None:
    r = await checkout.http.post("/v1/quotes", json={"product_id": "receives", "quantity": 5})
    assert r.status_code == 401


def _altered(token: str, **claims: Any) -> str:
    head, body, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


async def test_an_altered_or_foreign_quote_is_refused_and_nothing_is_charged(
    checkout: CheckoutUnderTest,
) -> None:
    user = _user()
    token = (await _quote(checkout, user, product_id="receives", quantity=20)).json()["token"]
    for forged in (_altered(token, amt=1), _altered(token, units=100), token[:-4] + "AAAA"):
        r = await _order(checkout, user, forged)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "quote_invalid"
    other = await _order(checkout, _user(), token)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "quote_invalid"
    assert await _orders_of(checkout, user) == 0


async def test_a_quote_and_a_package_are_one_of(checkout: CheckoutUnderTest) -> None:
    user = _user()
    token = (await _quote(checkout, user, product_id="receives", quantity=2)).json()["token"]
    r = await _order(checkout, user, token, package_id="standard")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    r = await checkout.http.post(
        "/v1/orders", headers=checkout.auth(user), json={"payment_method": "stripe_checkout"}
    )
    assert r.status_code == 422
    wrong_currency = await _order(checkout, user, token, currency="USD")
    assert wrong_currency.json()["error"]["code"] == "currency_not_offered"
    usdt = (await _quote(checkout, user, product_id="receives", quantity=2, currency="USDT")).json()
    assert usdt["amount"] == {"value": "0.600000", "currency": "USDT"}
    r = await _order(checkout, user, usdt["token"])
    assert r.json()["error"]["code"] == "payment_method_unavailable"
    assert await _orders_of(checkout, user) == 0


async def test_idempotency_keys_cover_the_quote(checkout: CheckoutUnderTest) -> None:
    user = _user()
    a = (await _quote(checkout, user, product_id="receives", quantity=5)).json()["token"]
    b = (await _quote(checkout, user, product_id="receives", quantity=6)).json()["token"]
    first = await _order(checkout, user, a, key="k1")
    again = await _order(checkout, user, a, key="k1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order_id"] == first.json()["order_id"]
    other = await _order(checkout, user, b, key="k1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_an_expired_quote_is_refused(make_checkout: MakeCheckout) -> None:
    async with make_checkout(sandbox=True, quote_ttl_s=60) as c:
        user = _user()
        token = (await _quote(c, user, product_id="receives", quantity=5)).json()["token"]
        moved = await c.http.post(
            "/v1/sandbox/clock/advance", headers=c.auth("ops", admin=True), json={"by": "PT61S"}
        )
        assert moved.status_code == 200, moved.text
        r = await _order(c, user, token)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "quote_expired"
        assert await _orders_of(c, user) == 0
