"""Stripe's webhook settings: `PAYSTREAM_STRIPE_WEBHOOK_SECRETS`, `..._WEBHOOK_TOLERANCE_S`."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from paystream.shared.providers.settings import ProviderSettings

# Public (it is in this repository): webhook-ingest refuses it outside sandbox mode.
DEV_WEBHOOK_SECRET = "whsec_dev_paystream"


class StripeSettings(ProviderSettings):
    # An empty value is an operator's mistake to refuse, not "use the default".
    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_STRIPE_", env_ignore_empty=False)
    display_name = "Stripe"

    # Comma-separated: while a secret is being rotated both the new and the old one verify.
    webhook_secrets: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    # Stripe's own default; a replayed signature older than this is refused.
    webhook_tolerance_s: int = Field(default=300, ge=1)

    @field_validator("webhook_secrets")
    @classmethod
    def _at_least_one_secret(cls, v: SecretStr) -> SecretStr:
        if not _split(v.get_secret_value()):
            raise ValueError("at least one Stripe webhook secret is required")
        return v

    def secrets(self) -> list[str]:
        return _split(self.webhook_secrets.get_secret_value())


def _split(value: str) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()]
