"""Stripe Customers, their saved cards and off-session charges (saved payment methods and
auto-recharge).

Every create carries an idempotency key derived from our own ids (the user for the customer,
the recharge attempt and its try for a charge), so a retried request never makes a second
customer or a second charge. `charge_outcome` reads Stripe's answer to an off-session charge
(pure: unit-tested without Stripe).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import stripe
import structlog
from stripe.params import PaymentIntentCreateParams, SetupIntentCreateParams

from paystream.checkout.providers import ProviderError, ProviderUnavailable
from paystream.checkout.providers.stripe import _refused
from paystream.shared.money import Money

log = structlog.get_logger(__name__)


class CustomerGone(ProviderError):
    """Stripe no longer knows the customer (deleted in the dashboard, another account)."""


@dataclass(frozen=True, slots=True)
class CardDisplay:
    """What Stripe returns for display about a saved method; nothing else is kept."""

    id: str
    customer_id: str | None
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True, slots=True)
class SetupStarted:
    setup_intent_id: str
    client_secret: str


class ChargeResult(StrEnum):
    SUCCEEDED = "succeeded"
    # Stripe is still working (a delayed method): the webhook says how it ended.
    PROCESSING = "processing"
    # The bank wants the cardholder (3-D Secure): only an on-session confirmation can finish it.
    REQUIRES_ACTION = "requires_action"
    # The card cannot be charged again as it is (declined, expired, lost, stolen, ...).
    HARD_DECLINE = "hard_decline"
    # Worth trying again later (insufficient funds, the issuer unavailable, Stripe's 5xx).
    TRANSIENT = "transient"


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    result: ChargeResult
    payment_intent_id: str | None = None
    client_secret: str | None = None
    code: str | None = None
    message: str | None = None


# Declines an issuer may lift by itself: tried again later, up to the retry limit. Every other
# decline is final for this card (Stripe's decline codes, docs.stripe.com/declines/codes).
TRANSIENT_DECLINES: Final = frozenset(
    {
        "insufficient_funds",
        "processing_error",
        "try_again_later",
        "issuer_not_available",
        "reenter_transaction",
        "approve_with_id",
        "card_velocity_exceeded",
        "withdrawal_count_limit_exceeded",
    }
)
# The bank asks for the cardholder: the charge needs an on-session confirmation.
AUTHENTICATION_CODES: Final = frozenset({"authentication_required", "authentication_not_handled"})


def charge_outcome(
    *,
    status: str | None = None,
    error_code: str | None = None,
    decline_code: str | None = None,
    http_status: int | None = None,
    payment_intent_id: str | None = None,
    client_secret: str | None = None,
    message: str | None = None,
) -> ChargeOutcome:
    """Our reading of an off-session charge: the PaymentIntent's `status` when Stripe answered
    2xx, else the error's `code` / `decline_code` / HTTP status."""
    if status is not None and error_code is None:
        result = {
            "succeeded": ChargeResult.SUCCEEDED,
            "processing": ChargeResult.PROCESSING,
            "requires_action": ChargeResult.REQUIRES_ACTION,
            "requires_confirmation": ChargeResult.REQUIRES_ACTION,
        }.get(status, ChargeResult.HARD_DECLINE)
        code = None if result is not ChargeResult.HARD_DECLINE else f"payment_intent_{status}"
        return ChargeOutcome(result, payment_intent_id, client_secret, code, message)
    code = decline_code or error_code
    if error_code in AUTHENTICATION_CODES or decline_code in AUTHENTICATION_CODES:
        result = ChargeResult.REQUIRES_ACTION
    elif (
        http_status is None
        or http_status >= 500
        or http_status == 429
        or decline_code in TRANSIENT_DECLINES
        or error_code in TRANSIENT_DECLINES
    ):
        result = ChargeResult.TRANSIENT
    else:
        result = ChargeResult.HARD_DECLINE
    return ChargeOutcome(result, payment_intent_id, client_secret, code, message)


def card_display(pm: stripe.PaymentMethod) -> CardDisplay:
    card = pm.card if pm.type == "card" else None
    customer = pm.customer
    return CardDisplay(
        id=pm.id,
        customer_id=customer if isinstance(customer, str) else getattr(customer, "id", None),
        type=pm.type,
        brand=None if card is None else card.brand,
        last4=None if card is None else card.last4,
        exp_month=None if card is None else card.exp_month,
        exp_year=None if card is None else card.exp_year,
    )


def off_session_params(
    *,
    amount: Money,
    customer_id: str,
    payment_method_id: str,
    metadata: dict[str, str],
    description: str,
) -> PaymentIntentCreateParams:
    """An off-session charge of a saved card, confirmed at once (Stripe's recommended shape for
    merchant-initiated charges: `off_session=true, confirm=true`)."""
    return {
        "amount": amount.minor,
        "currency": amount.currency.lower(),
        "customer": customer_id,
        "payment_method": payment_method_id,
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
        "description": description,
    }


class StripeSavedMethods:
    """Customers, SetupIntents, saved PaymentMethods and off-session PaymentIntents."""

    def __init__(
        self, *, api_key: str, api_base: str, timeout_s: float, max_network_retries: int
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def create_customer(self, user_id: str, *, replacing: str | None = None) -> str:
        # One customer per user even when two first requests race; a replacement of a customer
        # Stripe lost has its own key (the first one's answer is the lost customer).
        key = f"paystream-customer-{user_id}" + (f"-after-{replacing}" if replacing else "")
        try:
            customer = await self._client.v1.customers.create_async(
                params={"metadata": {"user_id": user_id}}, options={"idempotency_key": key}
            )
        except stripe.StripeError as exc:
            raise _refused("stripe_customer_failed", exc, user_id=user_id) from exc
        return customer.id

    async def start_setup(self, customer_id: str, user_id: str) -> SetupStarted:
        params: SetupIntentCreateParams = {
            "customer": customer_id,
            "usage": "off_session",
            # API versions from 2026-10-28 (the SDK's pinned one) name the request field so.
            "allowed_payment_method_types": ["card"],
            "metadata": {"user_id": user_id},
        }
        try:
            intent = await self._client.v1.setup_intents.create_async(params=params)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing" and getattr(exc, "param", None) == "customer":
                raise CustomerGone(f"Stripe has no customer {customer_id}") from exc
            raise _refused("stripe_setup_failed", exc, customer=customer_id) from exc
        except stripe.StripeError as exc:
            raise _refused("stripe_setup_failed", exc, customer=customer_id) from exc
        if not intent.client_secret:
            raise ProviderError("Stripe returned a SetupIntent without a client_secret")
        return SetupStarted(intent.id, intent.client_secret)

    async def list_cards(self, customer_id: str) -> tuple[list[CardDisplay], str | None]:
        """The customer's saved methods and its default one."""
        try:
            listed = await self._client.v1.customers.payment_methods.list_async(
                customer_id, params={"limit": 100}
            )
            customer = await self._client.v1.customers.retrieve_async(customer_id)
        except stripe.StripeError as exc:
            raise _refused("stripe_list_methods_failed", exc, customer=customer_id) from exc
        settings = customer.invoice_settings
        default = settings.default_payment_method if settings is not None else None
        default_id = default if isinstance(default, str) else getattr(default, "id", None)
        return [card_display(pm) for pm in listed.data], default_id

    async def set_default(self, customer_id: str, payment_method_id: str) -> None:
        try:
            await self._client.v1.customers.update_async(
                customer_id,
                params={"invoice_settings": {"default_payment_method": payment_method_id}},
            )
        except stripe.StripeError as exc:
            raise _refused("stripe_set_default_failed", exc, customer=customer_id) from exc

    async def detach(self, payment_method_id: str) -> None:
        try:
            await self._client.v1.payment_methods.detach_async(payment_method_id)
        except stripe.InvalidRequestError as exc:
            # Already detached (a second DELETE, or the user removed it at Stripe): done.
            if exc.http_status == 400 and "not attached" in str(exc).lower():
                return
            raise _refused("stripe_detach_failed", exc, payment_method=payment_method_id) from exc
        except stripe.StripeError as exc:
            raise _refused("stripe_detach_failed", exc, payment_method=payment_method_id) from exc

    async def charge_off_session(
        self, params: PaymentIntentCreateParams, *, idempotency_key: str
    ) -> ChargeOutcome:
        """Charge a saved card now. A decline is an outcome, not an error; ProviderUnavailable
        only when Stripe gave no believable answer (then whether it charged is unknown, and the
        same idempotency key asks again)."""
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            err = exc.error
            pi = getattr(err, "payment_intent", None) if err is not None else None
            log.info("stripe_off_session_declined", code=exc.code, key=idempotency_key)
            return charge_outcome(
                error_code=exc.code,
                decline_code=getattr(err, "decline_code", None) if err is not None else None,
                http_status=exc.http_status,
                payment_intent_id=getattr(pi, "id", None),
                client_secret=getattr(pi, "client_secret", None),
                message=exc.user_message or str(exc),
            )
        except stripe.StripeError as exc:
            refused = _refused("stripe_off_session_failed", exc, key=idempotency_key)
            if isinstance(refused, ProviderUnavailable):
                raise refused from exc
            if isinstance(exc, stripe.IdempotencyError) or exc.http_status == 409:
                # The same key is being answered elsewhere (two workers on one try): that
                # request's outcome is the one recorded; this says nothing about the card.
                raise ProviderUnavailable(
                    f"a charge with key {idempotency_key} is in flight"
                ) from exc
            return charge_outcome(
                error_code=exc.code or "invalid_request",
                http_status=exc.http_status,
                message=str(exc),
            )
        return charge_outcome(
            status=intent.status,
            payment_intent_id=intent.id,
            client_secret=intent.client_secret,
        )

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]
