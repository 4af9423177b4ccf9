"""Alipay's notification settings: `PAYSTREAM_ALIPAY_APP_ID` and `PAYSTREAM_ALIPAY_PUBLIC_KEY`
(Alipay's key, which verifies notifications: PEM, bare base64 or `@<path>`). Both unset: the
route answers 503 provider_not_configured."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from paystream.shared.providers.settings import ProviderSettings, PublicKey


class AlipaySettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_ALIPAY_")
    display_name = "Alipay"

    app_id: str
    public_key: PublicKey
