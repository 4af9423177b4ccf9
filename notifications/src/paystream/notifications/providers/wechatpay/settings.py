"""WeChat Pay's notification settings, `PAYSTREAM_WECHATPAY_*`: the merchant id, the APIv3 key
(32 bytes; decrypts the resources), the platform public key and its id (`PUB_KEY_ID_...`, the
`Wechatpay-Serial` it signs under). All unset: the route answers 503 provider_not_configured;
some unset: the service refuses to start."""

from __future__ import annotations

from pydantic import SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from paystream.shared.providers.settings import ProviderSettings, PublicKey, Secret


class WeChatPaySettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_WECHATPAY_")
    display_name = "WeChat Pay"

    mchid: str
    apiv3_key: Secret
    platform_public_key: PublicKey
    platform_public_key_id: str

    @field_validator("apiv3_key")
    @classmethod
    def _thirty_two_bytes(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value().encode()) != 32:
            raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
        return v
