"""Test support for the Alipay cross-checks: the three RSA keys a test needs (the merchant's,
Alipay's, an attacker's) and Alipay's own Python SDK (`python-alipay-sdk`, import name `alipay`,
a dev dependency of the workspace), which signs with PyCryptodome, set up on either side. Used by
shared's wire-format tests and checkout's gateway client tests."""

from __future__ import annotations

from dataclasses import dataclass

from alipay import AliPay
from cryptography.hazmat.primitives.asymmetric import rsa

from paystream.shared.providers import keys as provider_keys

APP_ID = "2021000000000001"


@dataclass(frozen=True)
class Keys:
    merchant: rsa.RSAPrivateKey  # the application's key: signs requests
    alipay: rsa.RSAPrivateKey  # Alipay's key: signs responses and notifications
    other: rsa.RSAPrivateKey  # an attacker's

    def pem(self, key: rsa.RSAPrivateKey) -> str:
        return provider_keys.private_key_pem(key)

    def pub(self, key: rsa.RSAPrivateKey) -> str:
        return provider_keys.public_key_pem(key)


def new_keys() -> Keys:
    """Three fresh 2048-bit keys (slow: a module-scoped fixture makes them once)."""

    def gen() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(gen(), gen(), gen())


def merchant_sdk(keys: Keys) -> AliPay:
    """The SDK as a merchant uses it: its key signs, Alipay's public key verifies."""
    return AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=keys.pem(keys.merchant),
        alipay_public_key_string=keys.pub(keys.alipay),
        sign_type="RSA2",
    )


def alipay_side_sdk(keys: Keys) -> AliPay:
    """The SDK turned around to play Alipay: Alipay's key signs, the merchant's verifies."""
    return AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=keys.pem(keys.alipay),
        alipay_public_key_string=keys.pub(keys.merchant),
        sign_type="RSA2",
    )
