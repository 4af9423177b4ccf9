"""Build the providers whose settings are present (and their background workers).

A provider without its keys is not offered: `GET /v1/payment-methods` does not list its methods
and an order asking for one is refused with `payment_method_unavailable`.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from paystream.checkout.providers import PaymentProvider
from paystream.checkout.providers.stripe import StripeProvider, payment_method_types
from paystream.checkout.settings import CheckoutSettings


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
        )
    )
    return built
