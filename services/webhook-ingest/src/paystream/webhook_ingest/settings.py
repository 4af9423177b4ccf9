"""webhook-ingest settings: the shared `PAYSTREAM_*` settings with this service's defaults.

The service is stateless: no database settings are used.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from paystream.shared.settings import BaseServiceSettings


class WebhookIngestSettings(BaseServiceSettings):
    service_name: str = "webhook-ingest"
    http_port: int = 8002

    # Comma-separated: while a secret is being rotated both the new and the old one verify.
    stripe_webhook_secrets: SecretStr = SecretStr("whsec_dev_paystream")
    # Stripe's own default; a replayed signature older than this is refused.
    stripe_webhook_tolerance_s: int = Field(default=300, ge=1)
    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1)
    # How long a request waits for Kafka's acks=all before answering 503 (Stripe retries).
    kafka_ack_timeout_s: float = Field(default=5.0, gt=0)

    # WeChat Pay (API v3 notifications); all unset: the route answers 503 provider_not_configured.
    # PEM values may be given as `@<path>`. The APIv3 key is the 32-byte key that decrypts the
    # notifications' resources; the platform key id is the `PUB_KEY_ID_...` in Wechatpay-Serial.
    wechatpay_mchid: str | None = None
    wechatpay_apiv3_key: SecretStr | None = None
    wechatpay_platform_public_key: str | None = None
    wechatpay_platform_public_key_id: str | None = None

    @field_validator("stripe_webhook_secrets")
    @classmethod
    def _at_least_one_secret(cls, v: SecretStr) -> SecretStr:
        if not _split(v.get_secret_value()):
            raise ValueError("at least one Stripe webhook secret is required")
        return v

    def webhook_secrets(self) -> list[str]:
        return _split(self.stripe_webhook_secrets.get_secret_value())

    # Alipay
    # Both unset: POST /webhooks/alipay answers 503 provider_not_configured. The public key is
    # Alipay's (it verifies notifications): PEM, Alipay's bare base64, or `@<path>`.
    alipay_app_id: str | None = None
    alipay_public_key: str | None = None


def _split(value: str) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()]
