"""Build the providers whose settings are present (and their background workers).

A provider without its keys is not offered: `GET /v1/payment-methods` does not list its methods
and an order asking for one is refused with `payment_method_unavailable`.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from paystream.checkout.providers import PaymentProvider
from paystream.checkout.providers.alipay import AlipayProvider
from paystream.checkout.providers.stripe import StripeProvider, payment_method_types
from paystream.checkout.providers.wechatpay import WeChatPayProvider
from paystream.checkout.settings import CheckoutSettings
from paystream.checkout.usdt.factory import build_usdt


@dataclass
class BuiltProviders:
    providers: list[PaymentProvider] = field(default_factory=list)
    # Long-running tasks a provider needs (the USDT deposit watcher).
    workers: list[Coroutine[Any, Any, None]] = field(default_factory=list)


def stripe_method_types(currency: str) -> tuple[str, ...]:
    return tuple(payment_method_types(currency))


def build_providers(settings: CheckoutSettings, pool: asyncpg.Pool) -> BuiltProviders:
    built = BuiltProviders()
    built.providers.append(
        StripeProvider(
            api_key=settings.stripe_secret_key.get_secret_value(),
            api_base=settings.stripe_api_base,
            timeout_s=settings.stripe_timeout_s,
            max_network_retries=settings.stripe_max_network_retries,
            balance_api_base=settings.stripe_balance_api_base,
        )
    )
    if (alipay := _alipay(settings)) is not None:
        built.providers.append(alipay)
    if (wechatpay := _wechatpay(settings)) is not None:
        built.providers.append(wechatpay)
    if (usdt := build_usdt(settings, pool)) is not None:
        provider, watcher = usdt
        built.providers.append(provider)
        built.workers.append(watcher.run_forever())
    return built


def _alipay(settings: CheckoutSettings) -> AlipayProvider | None:
    s = settings
    if s.alipay_app_id is None:
        return None
    named = {
        "PAYSTREAM_ALIPAY_PRIVATE_KEY": s.alipay_private_key,
        "PAYSTREAM_ALIPAY_PUBLIC_KEY": s.alipay_public_key,
        "PAYSTREAM_ALIPAY_NOTIFY_URL": s.alipay_notify_url,
    }
    _refuse_partial("Alipay", named)
    assert s.alipay_private_key is not None
    return AlipayProvider(
        gateway_url=s.alipay_gateway_url,
        app_id=s.alipay_app_id,
        private_key=s.alipay_private_key.get_secret_value(),
        alipay_public_key=str(s.alipay_public_key),
        notify_url=str(s.alipay_notify_url),
        timeout_s=s.alipay_timeout_s,
    )


def _refuse_partial(provider: str, named: Mapping[str, object]) -> None:
    missing = [name for name, value in named.items() if value is None]
    if missing:
        # Half a configuration is a mistake, not "not offered": refuse to start.
        raise ValueError(f"{provider} is partly configured; missing: {', '.join(missing)}")


def _wechatpay(settings: CheckoutSettings) -> WeChatPayProvider | None:
    s = settings
    if s.wechatpay_mchid is None:
        return None
    named = {
        "PAYSTREAM_WECHATPAY_APPID": s.wechatpay_appid,
        "PAYSTREAM_WECHATPAY_MERCHANT_PRIVATE_KEY": s.wechatpay_merchant_private_key,
        "PAYSTREAM_WECHATPAY_MERCHANT_SERIAL_NO": s.wechatpay_merchant_serial_no,
        "PAYSTREAM_WECHATPAY_PLATFORM_PUBLIC_KEY": s.wechatpay_platform_public_key,
        "PAYSTREAM_WECHATPAY_PLATFORM_PUBLIC_KEY_ID": s.wechatpay_platform_public_key_id,
        "PAYSTREAM_WECHATPAY_NOTIFY_URL": s.wechatpay_notify_url,
    }
    _refuse_partial("WeChat Pay", named)
    assert s.wechatpay_merchant_private_key is not None
    return WeChatPayProvider(
        api_base=s.wechatpay_api_base,
        mchid=s.wechatpay_mchid,
        appid=str(s.wechatpay_appid),
        merchant_private_key=s.wechatpay_merchant_private_key.get_secret_value(),
        merchant_serial_no=str(s.wechatpay_merchant_serial_no),
        platform_public_key=str(s.wechatpay_platform_public_key),
        platform_public_key_id=str(s.wechatpay_platform_public_key_id),
        notify_url=str(s.wechatpay_notify_url),
        timeout_s=s.wechatpay_timeout_s,
    )
