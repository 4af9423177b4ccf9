"""AlipayProvider against the fake Alipay gateway over real HTTP: the fake checks every RSA2
signature the provider makes and signs every answer the provider verifies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from paystream.checkout.providers import (
    PaymentRequest,
    ProviderError,
    RefundRequest,
    RefundStatus,
)
from paystream.checkout.providers.alipay import AlipayProvider
from paystream.devtools.fakes import free_port, serving
from paystream.devtools.fakes.alipay import create_app as create_fake
from paystream.shared.money import Money
from paystream.shared.providers import alipay as ali
from paystream.shared.providers.keys import private_key_pem, public_key_pem

pytestmark = pytest.mark.integration

APP_ID = "2021000000000005"
# Nobody listens there: the fake's notification fails, which these tests do not look at.
NOTIFY_URL = f"http://127.0.0.1:{free_port()}/webhooks/alipay"


@dataclass(frozen=True)
class Keys:
    merchant: rsa.RSAPrivateKey
    alipay: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    def gen() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(gen(), gen(), gen())


@dataclass
class Gateway:
    url: str
    http: httpx.AsyncClient
    keys: Keys

    def provider(self, **overrides: Any) -> AlipayProvider:
        args: dict[str, Any] = {
            "gateway_url": f"{self.url}/gateway.do",
            "app_id": APP_ID,
            "private_key": private_key_pem(self.keys.merchant),
            "alipay_public_key": public_key_pem(self.keys.alipay),
            "notify_url": NOTIFY_URL,
            "timeout_s": 5.0,
        }
        args.update(overrides)
        return AlipayProvider(**args)

    async def trade(self, out_trade_no: str) -> dict[str, Any]:
        r = await self.http.get(f"/_fake/trades/{out_trade_no}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def pay(self, out_trade_no: str) -> None:
        r = await self.http.post(f"/_fake/trades/{out_trade_no}/pay")
        assert r.status_code == 200, r.text


@pytest.fixture
async def gateway(keys: Keys) -> AsyncIterator[Gateway]:
    app = create_fake(private_key_pem(keys.alipay), public_key_pem(keys.merchant), APP_ID)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        yield Gateway(url, http, keys)


@pytest.fixture
async def provider(gateway: Gateway) -> AsyncIterator[AlipayProvider]:
    p = gateway.provider()
    yield p
    await p.aclose()


def order(method: str = "alipay_qr", amount: str = "88.80") -> PaymentRequest:
    return PaymentRequest(
        order_id=str(uuid.uuid4()),
        user_id=f"user-{uuid.uuid4().hex[:8]}",
        package_id="standard",
        package_name="标准包",
        credits=1100,
        amount=Money.parse(amount, "CNY"),
        payment_method=method,
        return_url="http://127.0.0.1:3000/checkout/return",
        expires_at=datetime.now(UTC) + timedelta(minutes=31),
    )


def refund_of(req: PaymentRequest, session_id: str, amount: str) -> RefundRequest:
    return RefundRequest(
        refund_id=str(uuid.uuid4()),
        order_id=req.order_id,
        user_id=req.user_id,
        amount=Money.parse(amount, "CNY"),
        payment_amount=req.amount,
        payment_method=req.payment_method,
        provider_payment_id=None,
        provider_session_id=session_id,
        reason="requested_by_customer",
    )


# --- paying ---------------------------------------------------------------------------------


async def test_qr_payment_opens_a_trade_carrying_the_order(
    provider: AlipayProvider, gateway: Gateway
) -> None:
    req = order()
    got = await provider.create_payment(req)
    assert got.session_id == uuid.UUID(req.order_id).hex
    assert got.qr_code is not None
    assert got.qr_code.startswith("https://qr.alipay.com/")
    assert got.payment_url is None
    trade = await gateway.trade(got.session_id)
    assert (trade["status"], trade["total_amount"], trade["notify_url"]) == (
        "WAIT_BUYER_PAY",
        "88.80",
        NOTIFY_URL,
    )
    assert trade["time_expire"] == ali.format_time(req.expires_at)
    assert ali.decode_passback(trade["passback_params"]) == ali.OrderFacts(
        req.order_id, req.user_id, 1100, "standard"
    )
    # Asking again for the same order answers the same trade (a retry is harmless).
    assert (await provider.create_payment(req)).qr_code == got.qr_code


async def test_page_payment_url_is_accepted_by_the_gateway_and_refused_when_tampered(
    provider: AlipayProvider, gateway: Gateway
) -> None:
    req = order("alipay_page")
    got = await provider.create_payment(req)
    assert got.payment_url is not None
    assert got.payment_url.startswith(f"{gateway.url}/gateway.do?")
    async with httpx.AsyncClient() as browser:
        page = await browser.get(got.payment_url)
        assert page.status_code == 200
        assert f"data-out-trade-no='{got.session_id}'" in page.text
        assert "¥88.80" in page.text

        params = dict(parse_qsl(urlsplit(got.payment_url).query))
        params["biz_content"] = params["biz_content"].replace("88.80", "0.01")
        tampered = await browser.get(f"{gateway.url}/gateway.do?{urlencode(params)}")
    assert "data-sub-code='isv.invalid-signature'" in tampered.text
    trade = await gateway.trade(got.session_id)
    assert (trade["status"], trade["total_amount"]) == ("WAIT_BUYER_PAY", "88.80")


async def test_requests_signed_with_another_key_are_refused(gateway: Gateway) -> None:
    impostor = gateway.provider(private_key=private_key_pem(gateway.keys.other))
    try:
        with pytest.raises(ProviderError, match=r"40002 isv\.invalid-signature"):
            await impostor.create_payment(order())
    finally:
        await impostor.aclose()


async def test_answers_not_signed_by_alipay_are_refused(gateway: Gateway) -> None:
    # The provider trusts another "Alipay" key: the genuine answer does not verify.
    fooled = gateway.provider(alipay_public_key=public_key_pem(gateway.keys.other))
    try:
        with pytest.raises(ProviderError, match="AlipaySignatureError"):
            await fooled.create_payment(order())
    finally:
        await fooled.aclose()


async def test_unreachable_gateway_is_a_provider_error(gateway: Gateway) -> None:
    gone = gateway.provider(gateway_url=f"http://127.0.0.1:{free_port()}/gateway.do")
    try:
        with pytest.raises(ProviderError, match="AlipayUnavailable"):
            await gone.create_payment(order())
    finally:
        await gone.aclose()


async def test_a_url_that_is_not_the_gateway_is_a_provider_error(gateway: Gateway) -> None:
    wrong = gateway.provider(gateway_url=f"{gateway.url}/not-the-gateway")
    try:
        with pytest.raises(ProviderError, match="unexpected HTTP 404"):
            await wrong.create_payment(order())
    finally:
        await wrong.aclose()


# --- refunds --------------------------------------------------------------------------------


async def test_partial_then_full_refund_and_too_much(
    provider: AlipayProvider, gateway: Gateway
) -> None:
    req = order(amount="100.00")
    session = (await provider.create_payment(req)).session_id
    await gateway.pay(session)

    first = refund_of(req, session, "30.00")
    outcome = await provider.refund(first)
    assert (outcome.status, outcome.provider_refund_id) == (
        RefundStatus.SUCCEEDED,
        first.refund_id,
    )
    trade = await gateway.trade(session)
    assert (trade["status"], trade["refunded"]) == ("TRADE_SUCCESS", "30.00")
    assert trade["refunds"] == {first.refund_id: "30.00"}

    # The same refund again (a retry after a crash): no second refund, still a success.
    again = await provider.refund(first)
    assert again.status is RefundStatus.SUCCEEDED
    assert (await gateway.trade(session))["refunded"] == "30.00"

    too_much = refund_of(req, session, "70.01")
    with pytest.raises(ProviderError, match=r"ACQ\.REFUND_AMT_NOT_EQUAL_TOTAL"):
        await provider.refund(too_much)
    assert (await gateway.trade(session))["refunded"] == "30.00"

    rest = await provider.refund(refund_of(req, session, "70.00"))
    assert rest.status is RefundStatus.SUCCEEDED
    trade = await gateway.trade(session)
    assert (trade["status"], trade["refunded"]) == ("TRADE_CLOSED", "100.00")


async def test_full_refund_at_once(provider: AlipayProvider, gateway: Gateway) -> None:
    req = order("alipay_page", amount="12.34")
    session = (await provider.create_payment(req)).session_id
    async with httpx.AsyncClient() as browser:  # the buyer opens the cashier: the trade exists
        url = (await provider.create_payment(req)).payment_url
        assert url is not None
        assert (await browser.get(url)).status_code == 200
    await gateway.pay(session)
    outcome = await provider.refund(refund_of(req, session, "12.34"))
    assert outcome.status is RefundStatus.SUCCEEDED
    assert (await gateway.trade(session))["status"] == "TRADE_CLOSED"


async def test_refund_of_an_unpaid_or_unknown_trade_is_refused(
    provider: AlipayProvider,
) -> None:
    req = order()
    session = (await provider.create_payment(req)).session_id
    with pytest.raises(ProviderError, match=r"ACQ\.TRADE_STATUS_ERROR"):
        await provider.refund(refund_of(req, session, "1.00"))
    with pytest.raises(ProviderError, match=r"ACQ\.TRADE_NOT_EXIST"):
        await provider.refund(refund_of(req, uuid.uuid4().hex, "1.00"))


# --- closing --------------------------------------------------------------------------------


async def test_close_an_open_trade_then_again(provider: AlipayProvider, gateway: Gateway) -> None:
    req = order()
    session = (await provider.create_payment(req)).session_id
    await provider.close(session, "alipay_qr")
    assert (await gateway.trade(session))["status"] == "TRADE_CLOSED"
    await provider.close(session, "alipay_qr")  # already closed: not an error
    # A closed trade can no longer be paid.
    assert (await gateway.http.post(f"/_fake/trades/{session}/pay")).status_code == 409


async def test_close_a_trade_alipay_never_saw_or_that_was_paid(
    provider: AlipayProvider, gateway: Gateway
) -> None:
    await provider.close(uuid.uuid4().hex, "alipay_qr")  # never scanned: does not exist
    req = order()
    session = (await provider.create_payment(req)).session_id
    await gateway.pay(session)
    await provider.close(session, "alipay_qr")  # paid first: kept, not an error
    assert (await gateway.trade(session))["status"] == "TRADE_SUCCESS"
