"""What checkout's endpoints need, built once by the app's lifespan and handed to each request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from paystream.checkout.auto_recharge.service import Recharger
from paystream.checkout.catalog.domain import Catalog
from paystream.checkout.orders.service import CheckoutConfig
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.providers.stripe_saved import StripeSavedMethods
from paystream.checkout.quotes.signing import Signer
from paystream.checkout.subscriptions.service import Plans
from paystream.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class CheckoutContext:
    pool: asyncpg.Pool
    catalog: Catalog
    providers: ProviderRegistry
    config: CheckoutConfig
    wake_outbox: Callable[[], None]
    # Stripe payment method types per currency (for GET /v1/payment-methods).
    stripe_types: Callable[[str], tuple[str, ...]]
    # Checkout's clock (the sandbox clock in sandbox mode): periods, renewals, quotes' expiry.
    clock: Clock
    # Signs and checks quotes and subscription change previews.
    signer: Signer
    quote_ttl: timedelta
    # What subscriptions decide with (the catalog's plans, the clock, reminders and grace).
    plans: Plans
    # Saved payment methods and auto-recharge (issue 12): Stripe customers and off-session
    # charges, and what auto-recharge decides and charges with.
    stripe_saved: StripeSavedMethods | None = None
    recharger: Recharger | None = None


def checkout_context(request: Request) -> CheckoutContext:
    ctx: CheckoutContext = request.app.state.checkout
    return ctx


Context = Annotated[CheckoutContext, Depends(checkout_context)]


def saved_methods(ctx: CheckoutContext) -> StripeSavedMethods:
    if ctx.stripe_saved is None:
        raise RuntimeError("saved payment methods need the Stripe client")
    return ctx.stripe_saved


def recharger(ctx: CheckoutContext) -> Recharger:
    if ctx.recharger is None:
        raise RuntimeError("auto-recharge needs its context")
    return ctx.recharger


def error_doc(status: int, code: str, description: str) -> dict[int | str, dict[str, object]]:
    """An OpenAPI `responses` entry for a refusal: `{status: "`code`: description"}`."""
    return {status: {"description": f"`{code}`: {description}"}}
