"""Each provider's settings, built one way (`ProviderSettings.load`): defaults, the environment
variables operators set, not configured at all, partly configured, invalid values."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from paystream.notifications.providers.alipay.settings import AlipaySettings
from paystream.notifications.providers.stripe.settings import StripeSettings
from paystream.notifications.providers.wechatpay.settings import WeChatPaySettings
from paystream.notifications.registry import PROVIDERS
from paystream.shared.providers.keys import public_key_pem

APIV3 = "0123456789abcdef0123456789ABCDEF"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for provider in PROVIDERS:
        for field in provider.settings_type.model_fields:
            monkeypatch.delenv(provider.settings_type.env_name(field), raising=False)


@pytest.fixture(scope="module")
def public_key() -> str:
    return public_key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def test_stripe_defaults() -> None:
    s = StripeSettings.load()
    assert s is not None
    assert s.secrets() == ["whsec_dev_paystream"]
    assert s.webhook_tolerance_s == 300


def test_stripe_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTREAM_STRIPE_WEBHOOK_SECRETS", " whsec_new , whsec_old,, ")
    monkeypatch.setenv("PAYSTREAM_STRIPE_WEBHOOK_TOLERANCE_S", "60")
    s = StripeSettings.load()
    assert s is not None
    assert s.secrets() == ["whsec_new", "whsec_old"]
    assert s.webhook_tolerance_s == 60
    assert "whsec_new" not in repr(s)  # secrets never reach logs through the settings object


@pytest.mark.parametrize("value", ["", " , ,"])
def test_no_stripe_secret_is_refused_at_startup(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PAYSTREAM_STRIPE_WEBHOOK_SECRETS", value)
    with pytest.raises(ValidationError, match="secret"):
        StripeSettings.load()


def test_unset_is_not_configured_and_empty_counts_as_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert AlipaySettings.load() is None
    assert WeChatPaySettings.load() is None
    monkeypatch.setenv("PAYSTREAM_ALIPAY_APP_ID", "")
    assert AlipaySettings.load() is None


def test_alipay_from_the_environment_with_its_key_parsed(
    monkeypatch: pytest.MonkeyPatch, public_key: str, tmp_path: Path
) -> None:
    (tmp_path / "alipay.pem").write_text(public_key)
    monkeypatch.setenv("PAYSTREAM_ALIPAY_APP_ID", " 2021000000000003 ")
    monkeypatch.setenv("PAYSTREAM_ALIPAY_PUBLIC_KEY", f"@{tmp_path / 'alipay.pem'}")
    s = AlipaySettings.load()
    assert s is not None
    assert s.app_id == "2021000000000003"
    assert public_key_pem(s.public_key) == public_key


def test_a_partial_configuration_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="partly configured") as exc:
        WeChatPaySettings.load(mchid="1900000109")
    assert "PAYSTREAM_WECHATPAY_APIV3_KEY" in str(exc.value)
    assert "PAYSTREAM_WECHATPAY_PLATFORM_PUBLIC_KEY_ID" in str(exc.value)
    monkeypatch.setenv("PAYSTREAM_ALIPAY_APP_ID", "2021000000000003")
    with pytest.raises(ValueError, match="Alipay is partly configured; missing PAYSTREAM_ALIPAY"):
        AlipaySettings.load()


def test_invalid_values_are_refused(public_key: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        WeChatPaySettings.load(
            mchid="1900000109",
            apiv3_key="short",
            platform_public_key=public_key,
            platform_public_key_id="PUB_KEY_ID_1",
        )
    with pytest.raises(ValueError, match="key"):
        AlipaySettings.load(app_id="2021000000000003", public_key="not a key")
    s = WeChatPaySettings.load(
        mchid="1900000109",
        apiv3_key=APIV3,
        platform_public_key=public_key,
        platform_public_key_id="PUB_KEY_ID_1",
    )
    assert s is not None
    assert s.apiv3_key.get_secret_value() == APIV3
    assert APIV3 not in repr(s)
