"""Settings of the web app (`PAYSTREAM_*` environment variables, like the services)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from paystream.shared.settings import BaseServiceSettings


class WebSettings(BaseServiceSettings):
    service_name: str = "web"
    http_port: int = 8000
    # Where the browser reaches this app (the return URL given to providers).
    web_public_url: str = "http://127.0.0.1:8000"

    # The services' HTTP APIs, as this app reaches them (server to server).
    checkout_url: str = "http://127.0.0.1:8001"
    ledger_url: str = "http://127.0.0.1:8003"
    invoicing_url: str = "http://127.0.0.1:8004"
    api_timeout_s: float = Field(default=15.0, gt=0)

    # Sandbox: "sign in as" mints tokens with the services' JWT secret, and the pay step can
    # complete a payment the way its provider would (devtools' payers, against the local
    # fakes). Never on in production: the product's own sign-in hands out the tokens.
    web_sandbox: bool = False
    # The sandbox's run dir and port base (its keys and the fakes' ports; see devtools.sandbox).
    web_sandbox_run_dir: Path = Path(".run/dev")
    web_sandbox_port_base: int = 8000
    stripe_webhook_secrets: SecretStr = SecretStr("whsec_dev_paystream")

    # With a publishable key, card payments (stripe_payment_intent) use Stripe's Payment Element.
    stripe_publishable_key: str | None = None

    # Consumer groups whose lag the dashboard shows (read from Kafka).
    web_consumer_groups: list[str] = ["checkout", "ledger", "invoicing"]
    # Cookie flags: Secure when the app is served over https.
    web_cookie_secure: bool = False

    def first_webhook_secret(self) -> str:
        return self.stripe_webhook_secrets.get_secret_value().split(",")[0].strip()
