"""AlipayProvider without the network: which methods it offers, what it refuses, and the signed
page.pay URL it builds locally."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from paystream.checkout.providers import PaymentRequest, ProviderError, RefundRequest
from paystream.checkout.providers.alipay import AlipayProvider, subject_of
from paystream.devtools.fakes.signing import verify_request
from paystream.shared.money import Money
from paystream.shared.providers import alipay as ali
from paystream.shared.providers.keys import private_key_pem, public_key_pem

APP_ID = "2021000000000004"
GATEWAY = "https://openapi.alipay.com/gateway.do"
NOTIFY = "https://pay.example.com/webhooks/alipay"


@pytest.fixture(scope="module")
def merchant_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def alipay_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def provider(merchant_key: rsa.RSAPrivateKey, alipay_key: rsa.RSAPrivateKey):  # type: ignore[no-untyped-def]
    p = AlipayProvider(
        gateway_url=GATEWAY,
        app_id=APP_ID,
        private_key=private_key_pem(merchant_key),
        alipay_public_key=public_key_pem(alipay_key),
        notify_url=NOTIFY,
    )
    yield p
    await p.aclose()


def request(method: str = "alipay_page", amount: Money | None = None) -> PaymentRequest:
    return PaymentRequest(
        order_id="0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        user_id="user-1",
        package_id="standard",
        package_name="标准包 1100 credits",
        credits=1100,
        amount=amount or Money(8880, "CNY"),
        payment_method=method,
        return_url="https://shop.example.com/return?x=1",
        expires_at=datetime(2024, 5, 1, 4, 31, tzinfo=UTC),
    )


def test_methods_are_offered_in_cny_only(provider: AlipayProvider) -> None:
    assert provider.name == "alipay"
    assert provider.methods_for("CNY") == ("alipay_qr", "alipay_page")
    assert provider.methods_for("cny") == ("alipay_qr", "alipay_page")
    for currency in ("USD", "EUR", "MYR", "USDT"):
        assert provider.methods_for(currency) == ()


async def test_page_url_is_a_signed_gateway_url_with_the_order(
    provider: AlipayProvider, merchant_key: rsa.RSAPrivateKey
) -> None:
    instructions = await provider.create_payment(request())
    assert instructions.session_id == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert instructions.qr_code is None
    assert instructions.payment_url is not None
    url = urlsplit(instructions.payment_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == GATEWAY
    params = dict(parse_qsl(url.query, keep_blank_values=True))
    assert verify_request(params, merchant_key.public_key())
    assert (params["app_id"], params["method"], params["sign_type"], params["charset"]) == (
        APP_ID,
        "alipay.trade.page.pay",
        "RSA2",
        "utf-8",
    )
    assert params["notify_url"] == NOTIFY
    assert params["return_url"] == "https://shop.example.com/return?x=1"
    biz = json.loads(params["biz_content"])
    assert biz["out_trade_no"] == instructions.session_id
    assert biz["total_amount"] == "88.80"
    assert biz["subject"] == "标准包 1100 credits"
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY"
    assert biz["time_expire"] == "2024-05-01 12:31:00"  # the order's expiry, Beijing time
    assert ali.decode_passback(biz["passback_params"]) == ali.OrderFacts(
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "user-1", 1100, "standard"
    )
    # Any change to the URL breaks the signature.
    tampered = {**params, "biz_content": params["biz_content"].replace("88.80", "0.01")}
    assert not verify_request(tampered, merchant_key.public_key())


async def test_refusals_before_any_call(provider: AlipayProvider) -> None:
    with pytest.raises(ProviderError, match="CNY"):
        await provider.create_payment(request(amount=Money(1000, "USD")))
    with pytest.raises(ProviderError, match="payment method"):
        await provider.create_payment(request(method="stripe_checkout"))
    bad_order = replace(request(), order_id="not-a-uuid-but-dashes")
    with pytest.raises(ProviderError, match="out_trade_no"):
        await provider.create_payment(bad_order)
    long_user = replace(request(), user_id="u" * 600)
    with pytest.raises(ProviderError, match="512"):
        await provider.create_payment(long_user)
    with pytest.raises(ProviderError, match="CNY"):
        await provider.refund(
            RefundRequest(
                refund_id="r1",
                order_id="o",
                user_id="u",
                amount=Money(100, "USD"),
                payment_amount=Money(100, "USD"),
                payment_method="alipay_qr",
                provider_payment_id=None,
                provider_session_id="o",
                reason="requested_by_customer",
            )
        )


def test_subject_has_none_of_the_characters_alipay_refuses() -> None:
    assert subject_of(replace(request(), package_name="A/B = 1 & 2")) == "A B 1 2"
    assert subject_of(replace(request(), package_name="//")) == "standard"
    assert len(subject_of(replace(request(), package_name="x" * 300))) == 256


async def test_page_url_expiry_follows_the_order(provider: AlipayProvider) -> None:
    later = request().expires_at + timedelta(hours=2)
    req = replace(request(), expires_at=later)
    url = (await provider.create_payment(req)).payment_url
    assert url is not None
    biz = json.loads(dict(parse_qsl(urlsplit(url).query))["biz_content"])
    assert biz["time_expire"] == "2024-05-01 14:31:00"
