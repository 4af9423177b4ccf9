"""Stripe Checkout Sessions: the one provider call checkout makes when an order is placed.

The order facts (order id, user id, credits, package) ride in the session's `metadata` and in
`payment_intent_data.metadata`, so every webhook Stripe sends about this payment
(`checkout.session.*` and `payment_intent.*`) carries them back to webhook-ingest, which needs no
lookup in checkout's database to publish a complete PaymentSucceededV1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import stripe
import structlog
from stripe.params.checkout import SessionCreateParams

from paystream.shared.money import Money

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SessionRequest:
    order_id: str
    user_id: str
    package_id: str
    package_name: str
    credits: int
    amount: Money
    return_url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ProviderSession:
    session_id: str
    url: str | None


class ProviderError(Exception):
    """The provider refused the request or could not be reached."""


def order_metadata(req: SessionRequest) -> dict[str, str]:
    # Stripe metadata values are strings.
    return {
        "order_id": req.order_id,
        "user_id": req.user_id,
        "credits": str(req.credits),
        "package_id": req.package_id,
    }


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query string (existing parameters kept)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def session_params(req: SessionRequest) -> SessionCreateParams:
    """The Checkout Session to create for an order (pure: unit-tested without Stripe)."""
    metadata = order_metadata(req)
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": req.amount.currency.lower(),
                    "unit_amount": req.amount.minor,
                    "product_data": {"name": req.package_name},
                },
            }
        ],
        "success_url": with_query(req.return_url, order_id=req.order_id, checkout="success"),
        "cancel_url": with_query(req.return_url, order_id=req.order_id, checkout="cancelled"),
        "client_reference_id": req.order_id,
        "metadata": metadata,
        "payment_intent_data": {"metadata": dict(metadata)},
        "expires_at": math.ceil(req.expires_at.timestamp()),
    }


def idempotency_key(req: SessionRequest) -> str:
    # Stripe refuses a reused key whose parameters differ; expires_at differs between two
    # attempts for the same order, so it is part of the key. Network retries of one attempt
    # reuse it and can never create two sessions.
    return f"paystream-order-{req.order_id}-{math.ceil(req.expires_at.timestamp())}"


class StripeCheckoutGateway:
    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        timeout_s: float,
        max_network_retries: int,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def create_session(self, req: SessionRequest) -> ProviderSession:
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params=session_params(req), options={"idempotency_key": idempotency_key(req)}
            )
        except stripe.StripeError as exc:
            log.warning(
                "stripe_session_failed",
                order_id=req.order_id,
                error=type(exc).__name__,
                message=str(exc),
                http_status=exc.http_status,
            )
            raise ProviderError(f"Stripe refused or did not answer: {type(exc).__name__}") from exc
        return ProviderSession(session_id=session.id, url=session.url)

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]
