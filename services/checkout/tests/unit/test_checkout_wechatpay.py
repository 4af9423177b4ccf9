"""WeChatPayProvider's refusals made before anything is sent (no WeChat Pay reachable: the
provider points at a closed port, so a request that went out would fail as `unreachable`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from paystream.checkout.providers import PaymentRequest, ProviderError, RefundRequest
from paystream.checkout.providers.wechatpay import WeChatPayProvider
from paystream.devtools.fakes.wechatpay import WeChatPayKeys, generate_keys
from paystream.shared.money import Money


@pytest.fixture(scope="session")
def keys() -> WeChatPayKeys:
    return generate_keys()


@pytest.fixture
def provider(keys: WeChatPayKeys) -> WeChatPayProvider:
    return WeChatPayProvider(
        api_base="http://127.0.0.1:9",
        mchid=keys.mchid,
        appid=keys.appid,
        merchant_private_key=keys.merchant_private_key,
        merchant_serial_no=keys.merchant_serial_no,
        platform_public_key=keys.platform_public_key,
        platform_public_key_id=keys.platform_public_key_id,
        notify_url="http://127.0.0.1:8002/webhooks/wechatpay",
        max_retries=0,
    )


def _order(**kw: object) -> PaymentRequest:
    args: dict[str, object] = {
        "order_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "package_id": "standard",
        "package_name": "Standard",
        "credits": 1100,
        "amount": Money(10000, "CNY"),
        "payment_method": "wechat_pay_native",
        "return_url": "http://x/return",
        "expires_at": datetime.now(UTC) + timedelta(minutes=31),
    }
    args.update(kw)
    return PaymentRequest(**args)  # type: ignore[arg-type]


def test_native_is_offered_in_cny_only(provider: WeChatPayProvider) -> None:
    assert provider.name == "wechatpay"
    assert provider.methods_for("CNY") == ("wechat_pay_native",)
    assert provider.methods_for("cny") == ("wechat_pay_native",)
    assert provider.methods_for("USD") == ()


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (_order(amount=Money(100, "USD")), "takes CNY"),
        (_order(payment_method="alipay_qr"), "does not offer"),
        (_order(package_id="p" * 80), "characters"),
        (_order(user_id="someone.with.a.long.address@example-company.com"), "refund number"),
        (_order(order_id="not a trade number"), "out_trade_no"),
    ],
)
async def test_orders_that_could_not_be_credited_or_refunded_are_refused_before_sending(
    provider: WeChatPayProvider, order: PaymentRequest, message: str
) -> None:
    with pytest.raises(ProviderError, match=message):
        await provider.create_payment(order)
    await provider.aclose()


async def test_a_refund_needs_cny_and_a_refund_id_we_can_send(provider: WeChatPayProvider) -> None:
    base = {
        "order_id": str(uuid.uuid4()),
        "user_id": "u1",
        "payment_amount": Money(10000, "CNY"),
        "payment_method": "wechat_pay_native",
        "provider_payment_id": None,
        "provider_session_id": None,
        "reason": "r",
    }
    with pytest.raises(ProviderError, match="CNY"):
        await provider.refund(
            RefundRequest(refund_id=str(uuid.uuid4()), amount=Money(1, "USD"), **base)  # type: ignore[arg-type]
        )
    with pytest.raises(ProviderError, match="not a UUID"):
        await provider.refund(RefundRequest(refund_id="r-1", amount=Money(1, "CNY"), **base))  # type: ignore[arg-type]
    await provider.aclose()
