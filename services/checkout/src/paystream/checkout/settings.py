"""Checkout settings: the shared `PAYSTREAM_*` settings with checkout's own defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr

from paystream.shared.settings import BaseServiceSettings
from paystream.shared.topics import ORDERS_EVENTS, PAYMENTS_EVENTS


class CheckoutSettings(BaseServiceSettings):
    service_name: str = "checkout"
    http_port: int = 8001
    database: str = "paystream_checkout"
    migrations_dir: Path = Path(__file__).resolve().parents[3] / "migrations"

    # The catalog is configuration: a JSON file; unset means the default packaged with checkout.
    catalog_file: Path | None = None

    stripe_api_base: str = "http://127.0.0.1:12111"
    stripe_secret_key: SecretStr = SecretStr("sk_test_123")
    stripe_timeout_s: float = Field(default=10.0, gt=0)
    # Retries of a session creation are safe: every attempt carries an idempotency key.
    stripe_max_network_retries: int = Field(default=2, ge=0)

    # Stripe accepts a Checkout Session lifetime between 30 minutes and 24 hours, measured from
    # its own clock: the default keeps a minute of margin for clock drift between us and Stripe.
    order_ttl_minutes: int = Field(default=31, ge=31, le=24 * 60 - 1)
    # Where Stripe sends the customer back when the request names no return_url.
    default_return_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:3000/checkout/return")

    # Pending orders past their expiry are marked expired by a periodic sweep. The grace lets a
    # payment submitted just before the session expired arrive first and avoids a
    # pending -> expired -> paid flap (a late payment is still recorded, see domain.py).
    order_expiry_sweep_s: float = Field(default=60.0, gt=0)
    order_expiry_grace_s: int = Field(default=300, ge=0)

    # Topics and group are settings so tests (and a staging replay) can use their own.
    checkout_payments_topic: str = PAYMENTS_EVENTS
    checkout_orders_topic: str = ORDERS_EVENTS
    checkout_consumer_group: str = "checkout"
