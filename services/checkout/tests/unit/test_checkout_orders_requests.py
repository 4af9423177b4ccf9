"""Order requests: body validation, the idempotency fingerprint, the settings defaults and the
order TTL floor."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from paystream.checkout.orders.schemas import CreateOrderIn
from paystream.checkout.orders.service import PlaceOrder, request_fingerprint
from paystream.checkout.settings import CheckoutSettings


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
    assert request_fingerprint(_cmd()) != request_fingerprint(_cmd(currency="USD"))
    assert request_fingerprint(_cmd()) != request_fingerprint(
        _cmd(payment_method="stripe_payment_intent")
    )


def test_settings_defaults() -> None:
    s = CheckoutSettings()
    assert (s.service_name, s.http_port, s.database) == ("checkout", 8001, "paystream_checkout")
    assert s.order_ttl_minutes == 31
    assert (s.migrations_dir / "env.py").is_file()


def test_order_ttl_below_stripe_minimum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTREAM_ORDER_TTL_MINUTES", "10")
    with pytest.raises(ValidationError):
        CheckoutSettings()


def test_the_development_stripe_key_refuses_to_start_outside_sandbox() -> None:
    from paystream.checkout.settings import CheckoutSettings

    real_jwt = "j" * 40
    with pytest.raises(SystemExit, match="PAYSTREAM_STRIPE_SECRET_KEY"):
        CheckoutSettings(jwt_secret=real_jwt, sandbox=False).refuse_development_secrets()
    CheckoutSettings(
        jwt_secret=real_jwt, stripe_secret_key="sk_live_" + "x" * 40, sandbox=False
    ).refuse_development_secrets()
    CheckoutSettings(sandbox=True).refuse_development_secrets()
