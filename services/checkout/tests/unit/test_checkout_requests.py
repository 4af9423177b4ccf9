"""Request validation, the Stripe session parameters, idempotency fingerprints and cursors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from paystream.checkout.schemas import CreateOrderIn
from paystream.checkout.service import PlaceOrder, request_fingerprint
from paystream.checkout.settings import CheckoutSettings
from paystream.checkout.stripe_gateway import (
    SessionRequest,
    idempotency_key,
    session_params,
    with_query,
)
from paystream.shared.money import Money


def test_minimal_order_request() -> None:
    body = CreateOrderIn.model_validate(
        {"package_id": "standard", "payment_method": "stripe_checkout"}
    )
    assert (body.package_id, body.payment_method, body.return_url) == (
        "standard",
        "stripe_checkout",
        None,
    )


@pytest.mark.parametrize("url", ["https://shop.example/return?x=1", "http://localhost:3000/r"])
def test_http_and_https_return_urls_are_accepted(url: str) -> None:
    body = CreateOrderIn.model_validate(
        {"package_id": "standard", "payment_method": "stripe_checkout", "return_url": url}
    )
    assert str(body.return_url) == url


@pytest.mark.parametrize(
    "body",
    [
        {"package_id": "standard", "payment_method": "alipay"},
        {"package_id": "standard", "payment_method": ""},
        {"package_id": "standard"},
        {"payment_method": "stripe_checkout"},
        {"package_id": "", "payment_method": "stripe_checkout"},
        {"package_id": "x" * 65, "payment_method": "stripe_checkout"},
        {"package_id": 7, "payment_method": "stripe_checkout"},
        {"package_id": "standard", "payment_method": "stripe_checkout", "return_url": "ftp://x/y"},
        {"package_id": "standard", "payment_method": "stripe_checkout", "return_url": "not a url"},
        {
            "package_id": "standard",
            "payment_method": "stripe_checkout",
            "return_url": "https://x.example/" + "a" * 2100,
        },
        {"package_id": "standard", "payment_method": "stripe_checkout", "quantity": 2},
    ],
)
def test_invalid_order_requests_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CreateOrderIn.model_validate(body)


def _req(**over: Any) -> SessionRequest:
    base: dict[str, Any] = {
        "order_id": "8d3c1e9e-4a59-4f0e-8f52-0d7e5b0c1a11",
        "user_id": "user-1",
        "package_id": "standard",
        "package_name": "Standard",
        "credits": 1100,
        "amount": Money(10000, "CNY"),
        "return_url": "https://shop.example/return?src=app",
        "expires_at": datetime(2030, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC),
    }
    base.update(over)
    return SessionRequest(**base)


def test_session_params_carry_the_order_facts_twice() -> None:
    params = session_params(_req())
    facts = {
        "order_id": "8d3c1e9e-4a59-4f0e-8f52-0d7e5b0c1a11",
        "user_id": "user-1",
        "credits": "1100",
        "package_id": "standard",
    }
    assert params["mode"] == "payment"
    assert params["client_reference_id"] == facts["order_id"]
    assert params["metadata"] == facts
    assert params["payment_intent_data"] == {"metadata": facts}
    assert params["line_items"] == [
        {
            "quantity": 1,
            "price_data": {
                "currency": "cny",
                "unit_amount": 10000,
                "product_data": {"name": "Standard"},
            },
        }
    ]
    # Rounded up to a whole second: never shorter than the TTL Stripe was promised.
    assert params["expires_at"] == int(datetime(2030, 1, 1, 12, 0, 1, tzinfo=UTC).timestamp())


def test_session_urls_come_back_to_the_return_url() -> None:
    params = session_params(_req())
    success = urlsplit(params["success_url"])
    cancel = urlsplit(params["cancel_url"])
    assert (success.scheme, success.netloc, success.path) == ("https", "shop.example", "/return")
    assert parse_qs(success.query) == {
        "src": ["app"],
        "order_id": ["8d3c1e9e-4a59-4f0e-8f52-0d7e5b0c1a11"],
        "checkout": ["success"],
    }
    assert parse_qs(cancel.query)["checkout"] == ["cancelled"]


def test_zero_decimal_currency_is_sent_in_its_minor_units() -> None:
    params = session_params(_req(amount=Money(980, "JPY")))
    price = params["line_items"][0]["price_data"]
    assert (price["currency"], price["unit_amount"]) == ("jpy", 980)


def test_stripe_idempotency_key_is_per_order_and_attempt() -> None:
    a = _req()
    assert idempotency_key(a) == idempotency_key(_req())
    assert idempotency_key(a) != idempotency_key(_req(order_id=str(uuid.uuid4())))
    later = _req(expires_at=a.expires_at + timedelta(seconds=5))
    assert idempotency_key(a) != idempotency_key(later)


def test_with_query_keeps_existing_parameters() -> None:
    assert with_query("http://h/p", a="1") == "http://h/p?a=1"
    assert with_query("http://h/p?z=&y=2#frag", a="1") == "http://h/p?z=&y=2&a=1#frag"


def _cmd(**over: Any) -> PlaceOrder:
    base: dict[str, Any] = {
        "user_id": "u",
        "package_id": "standard",
        "payment_method": "stripe_checkout",
        "return_url": None,
        "idempotency_key": "k",
    }
    base.update(over)
    return PlaceOrder(**base)


def test_fingerprint_is_the_body_not_the_key_or_user() -> None:
    assert request_fingerprint(_cmd()) == request_fingerprint(_cmd(idempotency_key="other"))
    assert request_fingerprint(_cmd()) == request_fingerprint(_cmd(user_id="v"))
    assert request_fingerprint(_cmd()) != request_fingerprint(_cmd(package_id="trial"))
    assert request_fingerprint(_cmd()) != request_fingerprint(_cmd(return_url="https://x/"))


def test_settings_defaults() -> None:
    s = CheckoutSettings()
    assert (s.service_name, s.http_port, s.database) == ("checkout", 8001, "paystream_checkout")
    assert s.order_ttl_minutes == 31
    assert (s.migrations_dir / "env.py").is_file()


def test_order_ttl_below_stripe_minimum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTREAM_ORDER_TTL_MINUTES", "10")
    with pytest.raises(ValidationError):
        CheckoutSettings()
