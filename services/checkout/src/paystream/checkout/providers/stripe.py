"""Stripe as a payment provider: Checkout Sessions, PaymentIntents, refunds, closing a payment.

Two payment methods:

- `stripe_checkout`: a hosted Checkout Session; the frontend redirects to `payment_url`.
- `stripe_payment_intent`: a PaymentIntent the frontend confirms with Stripe.js from its
  `client_secret`, limited to the payment method types Stripe offers in the order's currency
  (`PAYMENT_INTENT_METHODS`).

The order facts (order id, user id, credits, package) ride in the session's `metadata`, in
`payment_intent_data.metadata` and in the PaymentIntent's `metadata`, so every webhook Stripe
sends about the payment (`checkout.session.*`, `payment_intent.*`, and the charge Stripe creates
from the PaymentIntent) carries them back to webhook-ingest, which needs no lookup in checkout's
database. A refund carries `order_id`, `user_id` and our `refund_id` in its own metadata for the
same reason (`refund.*` webhooks).

Queries (sync, the reconciler) retrieve the Checkout Session, the PaymentIntent or (a plan's
charge) the invoice; a refund whose create got no believable answer (an unreachable Stripe, a
5xx: ProviderUnavailable, the refund stays pending) is found by its `re_...`, else among the
PaymentIntent's refunds by our `refund_id` metadata, else created again under the same
idempotency key.

Every create sends an idempotency key derived from our own ids, so a network retry (the SDK
retries connection errors and 5xx with the same key) or a replayed request can never open two
payments or refund twice.

Known pitfall (confirming a PaymentIntent server-side, in tests and the demo): Alipay, GrabPay
and the other redirect methods are confirmed with `payment_method_data: {type: "alipay"}`, not
`payment_method: "alipay"` (that is read as a PaymentMethod id and refused by Stripe: "No such
PaymentMethod"), and WeChat Pay also needs `payment_method_options[wechat_pay][client]`.
`confirm_params` builds these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import stripe
import structlog
from stripe.params import (
    BalanceTransactionListParams,
    InvoiceCreateParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    RefundCreateParams,
    RefundListParams,
    SubscriptionUpdateParams,
)
from stripe.params.checkout import SessionCreateParams

from paystream.checkout.providers import (
    PaymentInstructions,
    PaymentLookup,
    PaymentRequest,
    PaymentState,
    ProviderError,
    ProviderUnavailable,
    RefundOutcome,
    RefundRequest,
    RefundStatus,
    SettlementLine,
)
from paystream.checkout.settlement.files import stripe_balance_transactions
from paystream.shared.events import Provider
from paystream.shared.money import Money

log = structlog.get_logger(__name__)

CHECKOUT: Final = "stripe_checkout"
PAYMENT_INTENT: Final = "stripe_payment_intent"
# A charge to a Stripe subscription's customer on a Stripe invoice (a plan's upgrade, a
# renewal): never offered for a one-off order.
INVOICE: Final = "stripe_invoice"

# The currencies paystream knows (paystream.shared.money) that Stripe takes as a presentment
# currency: a Checkout Session can be opened in any of them (USDT is not a Stripe currency).
STRIPE_CURRENCIES: Final = frozenset(
    {"CNY", "USD", "EUR", "GBP", "MYR", "SGD", "HKD", "JPY", "KRW"}
)

# The payment method types a `stripe_payment_intent` offers, by currency (the product brief's
# regions): card everywhere, plus the region's own methods. A currency absent here has no
# PaymentIntent method (its buyers use stripe_checkout).
PAYMENT_INTENT_METHODS: Final[Mapping[str, tuple[str, ...]]] = {
    "MYR": ("card", "fpx", "grabpay", "alipay"),
    "USD": ("card", "us_bank_account", "alipay"),
    "EUR": ("card", "sepa_debit", "ideal"),
    "GBP": ("card", "bacs_debit"),
    "CNY": ("card", "alipay", "wechat_pay"),
}

# Stripe's refund `reason` takes only these; any other reason of ours travels in metadata.
_STRIPE_REFUND_REASONS: Final = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
_METADATA_VALUE_MAX: Final = 500  # Stripe refuses longer metadata values


def payment_method_types(currency: str) -> tuple[str, ...]:
    """The Stripe payment method types a PaymentIntent offers in `currency` (may be empty)."""
    return PAYMENT_INTENT_METHODS.get(currency.upper(), ())


def methods_for(currency: str) -> tuple[str, ...]:
    """The paystream payment methods Stripe serves in `currency`."""
    currency = currency.upper()
    if currency not in STRIPE_CURRENCIES:
        return ()
    if currency in PAYMENT_INTENT_METHODS:
        return (CHECKOUT, PAYMENT_INTENT)
    return (CHECKOUT,)


# --- request parameters (pure: unit-tested without Stripe) ----------------------------------


def order_metadata(req: PaymentRequest) -> dict[str, str]:
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


def _expires_at(req: PaymentRequest) -> int:
    # Stripe takes whole seconds; rounding up never promises less than the order's TTL.
    return math.ceil(req.expires_at.timestamp())


def session_params(req: PaymentRequest) -> SessionCreateParams:
    """The Checkout Session to create for an order: a one-off payment, or (an order that opens
    a recurring plan) a Stripe Subscription whose later periods Stripe charges itself."""
    metadata = order_metadata(req)
    params: SessionCreateParams = {
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
        "expires_at": _expires_at(req),
    }
    if req.recurring is not None:
        r = req.recurring
        params["mode"] = "subscription"
        del params["payment_intent_data"]  # a subscription's payments come from its invoices
        params["line_items"][0]["price_data"]["recurring"] = {"interval": r.interval}
        params["subscription_data"] = {
            # What names paystream's subscription in Stripe's renewal invoices.
            "metadata": dict(r.metadata),
            # Stripe's periods are paystream's: the second one starts where paystream's does,
            # and the first (the minutes the payer took are already in it) is not prorated.
            "billing_cycle_anchor": math.ceil(r.next_period_at.timestamp()),
            "proration_behavior": "none",
        }
    return params


def invoice_params(req: PaymentRequest, customer_id: str) -> InvoiceCreateParams:
    """The invoice an order is charged on: the order's facts in its metadata, charged to the
    customer's saved payment method, only the item added to it."""
    return {
        "customer": customer_id,
        "collection_method": "charge_automatically",
        "auto_advance": False,
        "pending_invoice_items_behavior": "exclude",
        "description": req.package_name,
        "metadata": order_metadata(req),
    }


def session_idempotency_key(req: PaymentRequest) -> str:
    # Stripe refuses a reused key whose parameters differ; expires_at differs between two
    # attempts for the same order, so it is part of the key. Network retries of one attempt
    # reuse it and can never create two sessions.
    return f"paystream-order-{req.order_id}-{_expires_at(req)}"


def payment_intent_params(req: PaymentRequest) -> PaymentIntentCreateParams:
    """The PaymentIntent to create for an order (ProviderError if its currency has none)."""
    types = payment_method_types(req.amount.currency)
    if not types:
        raise ProviderError(f"Stripe PaymentIntents are not offered in {req.amount.currency}")
    params: PaymentIntentCreateParams = {
        "amount": req.amount.minor,
        "currency": req.amount.currency.lower(),
        # Explicit types, not the dashboard's dynamic payment methods: what the payer may use is
        # paystream's table (GET /v1/payment-methods shows it). API versions from 2026-10-28
        # (the SDK's pinned version) call the request field `allowed_payment_method_types`;
        # Stripe answers with the compatible subset in `payment_method_types`.
        "allowed_payment_method_types": list(types),
        "metadata": order_metadata(req),
        "description": req.package_name,
    }
    if req.save_for_customer is not None:
        # Saved for off-session charges (auto-recharge): cards only, on the payer's customer;
        # Stripe attaches the card once paid (payment_method.attached tells checkout).
        params["allowed_payment_method_types"] = ["card"]
        params["customer"] = req.save_for_customer
        params["setup_future_usage"] = "off_session"
        return params
    if "wechat_pay" in types:
        # Stripe refuses to confirm a WeChat Pay payment without a client type; "web" (a QR code
        # on the page) is what a Stripe.js checkout shows. An app confirms with its own.
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    return params


def payment_intent_idempotency_key(req: PaymentRequest) -> str:
    # A PaymentIntent does not expire, but an order's attempts are told apart by their expiry
    # exactly as for sessions, and the method is in the key so the two can never collide.
    return f"paystream-order-{req.order_id}-pi-{_expires_at(req)}"


@dataclass(frozen=True, slots=True)
class RefundTarget:
    """What a Stripe refund is made against: one of payment_intent / charge."""

    kind: Literal["payment_intent", "charge"]
    id: str


def refund_target(req: RefundRequest) -> RefundTarget | None:
    """The PaymentIntent (or charge) to refund, from what checkout knows about the payment.

    `provider_payment_id` is the PaymentIntent of a paid order (both methods' webhooks carry
    it); for a `stripe_payment_intent` order the session id is the PaymentIntent too. None when
    only a Checkout Session id is known (the caller looks its PaymentIntent up).
    """
    for candidate in (req.provider_payment_id, req.provider_session_id):
        if not candidate:
            continue
        if candidate.startswith("pi_"):
            return RefundTarget("payment_intent", candidate)
        if candidate.startswith(("ch_", "py_")):
            return RefundTarget("charge", candidate)
    return None


def refund_params(req: RefundRequest, target: RefundTarget) -> RefundCreateParams:
    if req.amount.currency != req.payment_amount.currency:
        raise ProviderError(
            f"refund in {req.amount.currency} for a payment in {req.payment_amount.currency}"
        )
    metadata = {"order_id": req.order_id, "user_id": req.user_id, "refund_id": req.refund_id}
    if req.reason:
        metadata["reason"] = req.reason[:_METADATA_VALUE_MAX]
    params: RefundCreateParams = {"amount": req.amount.minor, "metadata": metadata}
    if target.kind == "payment_intent":
        params["payment_intent"] = target.id
    else:
        params["charge"] = target.id
    if req.reason in _STRIPE_REFUND_REASONS:
        params["reason"] = req.reason
    return params


def refund_idempotency_key(req: RefundRequest) -> str:
    # Our refund id is fixed before Stripe is asked (the refund row exists first), so a retry of
    # the same refund, even from another process after a crash, returns Stripe's first refund.
    return f"paystream-refund-{req.refund_id}"


def refund_status(status: str | None) -> RefundStatus:
    """Our status for a Stripe refund status (pending / requires_action / succeeded / failed /
    canceled)."""
    if status == "succeeded":
        return RefundStatus.SUCCEEDED
    if status in ("failed", "canceled"):
        return RefundStatus.FAILED
    # pending, requires_action (the payer must give bank details): refund.updated tells the end.
    return RefundStatus.PENDING


def closed_already(kind: Literal["checkout_session", "payment_intent"], status: str | None) -> bool:
    """Whether a session / PaymentIntent Stripe refused to expire / cancel is already beyond
    payment: expired or cancelled, or paid (a payment that won the race is credited, not undone).
    """
    if kind == "checkout_session":
        return status in ("expired", "complete")
    return status in ("canceled", "succeeded")


# Stripe's test values (docs.stripe.com/testing) for the methods that need the payer's details.
_TEST_IBAN: Final = "DE89370400440532013000"
_TEST_NAME: Final = "Jenny Rosen"
_TEST_EMAIL: Final = "jenny.rosen@example.com"


def confirm_params(
    method: str, return_url: str, *, ip_address: str = "127.0.0.1", user_agent: str = "paystream"
) -> PaymentIntentConfirmParams:
    """How to confirm a PaymentIntent server-side with `method` (a Stripe payment method type),
    in test mode: the demo and the tests pay this way; a real payer confirms in Stripe.js.

    Redirect methods (alipay, grabpay, fpx, ideal, wechat_pay) give the type in
    `payment_method_data` (see the module docstring) and a `return_url`; debits need the payer's
    bank details (Stripe's test numbers) and a mandate accepted online.
    """
    online_mandate: PaymentIntentConfirmParams = {
        "mandate_data": {
            "customer_acceptance": {
                "type": "online",
                "online": {"ip_address": ip_address, "user_agent": user_agent},
            }
        }
    }
    match method:
        case "card":
            # A test PaymentMethod id Stripe provides in test mode: a Visa that succeeds.
            return {"payment_method": "pm_card_visa", "return_url": return_url}
        case "alipay" | "grabpay" | "ideal":
            return {"payment_method_data": {"type": method}, "return_url": return_url}
        case "wechat_pay":
            return {
                "payment_method_data": {"type": "wechat_pay"},
                "payment_method_options": {"wechat_pay": {"client": "web"}},
                "return_url": return_url,
            }
        case "fpx":
            return {
                "payment_method_data": {"type": "fpx", "fpx": {"bank": "maybank2u"}},
                "return_url": return_url,
            }
        case "sepa_debit":
            return {
                "payment_method_data": {
                    "type": "sepa_debit",
                    "sepa_debit": {"iban": _TEST_IBAN},
                    "billing_details": {"name": _TEST_NAME, "email": _TEST_EMAIL},
                },
                **online_mandate,
            }
        case "us_bank_account":
            return {
                "payment_method_data": {
                    "type": "us_bank_account",
                    "us_bank_account": {
                        "account_holder_type": "individual",
                        "routing_number": "110000000",
                        "account_number": "000123456789",
                    },
                    "billing_details": {"name": _TEST_NAME, "email": _TEST_EMAIL},
                },
                **online_mandate,
            }
        case "bacs_debit":
            return {
                "payment_method_data": {
                    "type": "bacs_debit",
                    "bacs_debit": {"sort_code": "108800", "account_number": "00012345"},
                    "billing_details": {
                        "name": _TEST_NAME,
                        "email": _TEST_EMAIL,
                        "address": {
                            "line1": "1 Test Street",
                            "city": "London",
                            "postal_code": "EC1A 1BB",
                            "country": "GB",
                        },
                    },
                },
                **online_mandate,
            }
    raise ValueError(f"no test confirmation for payment method type {method!r}")


# --- the provider ---------------------------------------------------------------------------


class StripeProvider:
    """`PaymentProvider` for `stripe_checkout` and `stripe_payment_intent`."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        timeout_s: float,
        max_network_retries: int,
        balance_api_base: str | None = None,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            max_network_retries=max_network_retries,
        )
        # Balance transactions from elsewhere only where stripe-mock (which keeps no state)
        # stands in for Stripe: see CheckoutSettings.stripe_balance_api_base.
        self._balance = (
            self._client
            if balance_api_base is None
            else stripe.StripeClient(
                api_key,
                base_addresses={"api": balance_api_base},
                http_client=self._http,
                max_network_retries=max_network_retries,
            )
        )

    settlement_tz = UTC

    async def settlement(self, day: date) -> list[SettlementLine]:
        """The day's balance transactions (UTC, Stripe's day), sources expanded."""
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        params: BalanceTransactionListParams = {
            "created": {
                "gte": int(start.timestamp()),
                "lt": int((start + timedelta(days=1)).timestamp()),
            },
            "limit": 100,
            "expand": ["data.source"],
        }
        docs: list[dict[str, Any]] = []
        try:
            while True:
                page = await self._balance.v1.balance_transactions.list_async(params)
                docs += [t.to_dict() for t in page.data]
                if not page.has_more or not page.data:
                    break
                params["starting_after"] = page.data[-1].id
        except stripe.StripeError as exc:
            raise _refused("stripe_balance_transactions_failed", exc, day=day.isoformat()) from exc
        return stripe_balance_transactions(docs)

    @property
    def name(self) -> Provider:
        return "stripe"

    def methods_for(self, currency: str) -> tuple[str, ...]:
        return methods_for(currency)

    async def create_payment(self, req: PaymentRequest) -> PaymentInstructions:
        if req.payment_method == CHECKOUT:
            return await self._create_session(req)
        if req.payment_method == PAYMENT_INTENT:
            return await self._create_payment_intent(req)
        if req.payment_method == INVOICE:
            return await self._charge_invoice(req)
        raise ProviderError(f"Stripe does not serve payment method {req.payment_method!r}")

    async def _create_session(self, req: PaymentRequest) -> PaymentInstructions:
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params=session_params(req),
                options={"idempotency_key": session_idempotency_key(req)},
            )
        except stripe.StripeError as exc:
            raise _refused("stripe_session_failed", exc, order_id=req.order_id) from exc
        # The hosted page shows the payer its methods; nothing to list here.
        return PaymentInstructions(session_id=session.id, payment_url=session.url)

    async def _create_payment_intent(self, req: PaymentRequest) -> PaymentInstructions:
        params = payment_intent_params(req)
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params=params, options={"idempotency_key": payment_intent_idempotency_key(req)}
            )
        except stripe.StripeError as exc:
            raise _refused("stripe_payment_intent_failed", exc, order_id=req.order_id) from exc
        if not intent.client_secret:
            raise ProviderError("Stripe returned a PaymentIntent without a client_secret")
        # What Stripe says the payer can use (the compatible subset of what we allowed).
        offered = intent.payment_method_types or params.get("allowed_payment_method_types", [])
        return PaymentInstructions(
            session_id=intent.id,
            client_secret=intent.client_secret,
            payment_method_types=tuple(offered),
        )

    async def _charge_invoice(self, req: PaymentRequest) -> PaymentInstructions:
        """Charge an order to a Stripe subscription's customer: an invoice carrying the order's
        facts in its metadata (its invoice.paid / invoice.payment_failed say how it went), one
        item, finalized and paid with the customer's saved method. A declined card is not an
        error here: the invoice stays open and Stripe's invoice.payment_failed fails the order."""
        r = req.recurring
        if r is None or r.customer_id is None:
            raise ProviderError("a Stripe invoice is charged to a subscription's customer")
        invoices = self._client.v1.invoices
        key = f"paystream-order-{req.order_id}-invoice"
        try:
            invoice = await invoices.create_async(
                params=invoice_params(req, r.customer_id), options={"idempotency_key": key}
            )
            assert invoice.id is not None
            await self._client.v1.invoice_items.create_async(
                params={
                    "customer": r.customer_id,
                    "invoice": invoice.id,
                    "amount": req.amount.minor,
                    "currency": req.amount.currency.lower(),
                    "description": req.package_name,
                    "metadata": order_metadata(req),
                },
                options={"idempotency_key": f"{key}-item"},
            )
            await invoices.finalize_invoice_async(
                invoice.id, options={"idempotency_key": f"{key}-finalize"}
            )
        except stripe.StripeError as exc:
            raise _refused("stripe_invoice_failed", exc, order_id=req.order_id) from exc
        try:
            await invoices.pay_async(
                invoice.id, params={"off_session": True}, options={"idempotency_key": f"{key}-pay"}
            )
        except stripe.CardError as exc:
            log.info("stripe_invoice_declined", order_id=req.order_id, code=exc.code)
        except stripe.StripeError as exc:
            raise _refused("stripe_invoice_pay_failed", exc, order_id=req.order_id) from exc
        return PaymentInstructions(session_id=invoice.id)

    async def update_subscription(
        self,
        subscription_id: str,
        *,
        price: Money | None,
        interval: Literal["month", "year"],
        cancel_at_period_end: bool,
        idempotency_key: str,
    ) -> None:
        """Make Stripe's subscription charge `price` from its next invoice on, without
        prorating (paystream prorates upgrades itself), and end or not at the period's end."""
        subs = self._client.v1.subscriptions
        try:
            current = await subs.retrieve_async(subscription_id)
            params: SubscriptionUpdateParams = {
                "cancel_at_period_end": cancel_at_period_end,
                "proration_behavior": "none",
            }
            if price is not None and current["items"].data:
                item = current["items"].data[0]
                product = item.price.product
                params["items"] = [
                    {
                        "id": item.id,
                        "price_data": {
                            "currency": price.currency.lower(),
                            "unit_amount": price.minor,
                            "product": product if isinstance(product, str) else product.id,
                            "recurring": {"interval": interval},
                        },
                    }
                ]
            await subs.update_async(
                subscription_id, params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _refused(
                "stripe_subscription_update_failed", exc, subscription=subscription_id
            ) from exc

    async def confirm(self, payment_intent_id: str, method: str, return_url: str) -> str:
        """Confirm a PaymentIntent server-side with `method` in test mode (demo and tests);
        returns the PaymentIntent's status."""
        try:
            intent = await self._client.v1.payment_intents.confirm_async(
                payment_intent_id, params=confirm_params(method, return_url)
            )
        except stripe.StripeError as exc:
            raise _refused("stripe_confirm_failed", exc, payment_intent=payment_intent_id) from exc
        return intent.status

    async def refund(self, req: RefundRequest) -> RefundOutcome:
        target = refund_target(req)
        if target is None:
            target = await self._target_of_session(req)
        params = refund_params(req, target)
        try:
            refund = await self._client.v1.refunds.create_async(
                params=params, options={"idempotency_key": refund_idempotency_key(req)}
            )
        except stripe.StripeError as exc:
            # A 4xx (already refunded, more than the charge, ...) is Stripe's final word; a 5xx or
            # an unreachable Stripe is only after the SDK's retries with the same key.
            raise _refused("stripe_refund_failed", exc, refund_id=req.refund_id) from exc
        return _outcome_of(refund)

    async def query_refund(self, req: RefundRequest) -> RefundOutcome:
        refunds = self._client.v1.refunds
        try:
            found: stripe.Refund | None
            if req.provider_refund_id:
                found = await refunds.retrieve_async(req.provider_refund_id)
            else:
                target = refund_target(req) or await self._target_of_session(req)
                params: RefundListParams = {"limit": 100}
                if target.kind == "payment_intent":
                    params["payment_intent"] = target.id
                else:
                    params["charge"] = target.id
                listed = await refunds.list_async(params=params)
                found = next((r for r in listed.data if _refund_of(r, req.refund_id)), None)
                if found is None:
                    # Stripe has no such refund: the lost request is made now, under its key.
                    return await self.refund(req)
        except stripe.StripeError as exc:
            raise _refused("stripe_refund_query_failed", exc, refund_id=req.refund_id) from exc
        return _outcome_of(found)

    async def query_payment(self, session_id: str, payment_method: str) -> PaymentLookup:
        try:
            if payment_method == CHECKOUT or session_id.startswith("cs_"):
                session = await self._client.v1.checkout.sessions.retrieve_async(session_id)
                return session_lookup(
                    session.status,
                    session.payment_status,
                    _id(session.payment_intent),
                    session.amount_total,
                    session.currency,
                    invoice=_id(session.invoice),
                )
            if payment_method == INVOICE or session_id.startswith("in_"):
                # A plan's charge on a Stripe invoice: the order's session is the invoice (a
                # PaymentIntent lookup of `in_...` is a 404, asked again forever).
                invoice = await self._client.v1.invoices.retrieve_async(session_id)
                return invoice_lookup(
                    invoice.status,
                    invoice.id or session_id,
                    # Named as webhook-ingest names an invoice's payment (its PaymentIntent on
                    # API versions that still put one on the invoice, else the invoice), so
                    # the notification arriving later finds the same payment on the order.
                    _id(invoice["payment_intent"]) if "payment_intent" in invoice else None,
                    invoice.amount_paid,
                    invoice.currency,
                    invoice.status_transitions.paid_at,
                )
            intent = await self._client.v1.payment_intents.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise _refused("stripe_query_failed", exc, session_id=session_id) from exc
        return payment_intent_lookup(
            intent.status, intent.id, intent.amount_received, intent.currency
        )

    async def _target_of_session(self, req: RefundRequest) -> RefundTarget:
        invoice_id = next(
            (
                i
                for i in (req.provider_payment_id, req.provider_session_id)
                if i and i.startswith("in_")
            ),
            None,
        )
        if invoice_id is not None:
            return await self._target_of_invoice(invoice_id)
        session_id = req.provider_session_id
        if not session_id or not session_id.startswith("cs_"):
            raise ProviderError(f"order {req.order_id} names no Stripe payment to refund")
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise _refused("stripe_session_lookup_failed", exc, session_id=session_id) from exc
        pi = session.payment_intent
        pi_id = pi if isinstance(pi, str) else (pi.id if pi is not None else None)
        if not pi_id and session.invoice:
            # A session that opened a subscription was paid by its first invoice.
            inv = session.invoice
            return await self._target_of_invoice(inv if isinstance(inv, str) else inv.id)
        if not pi_id:
            raise ProviderError(f"Checkout Session {session_id} has no PaymentIntent to refund")
        return RefundTarget("payment_intent", pi_id)

    async def _target_of_invoice(self, invoice_id: str) -> RefundTarget:
        """The PaymentIntent that paid an invoice (an invoice's payments are listed apart)."""
        try:
            payments = await self._client.v1.invoice_payments.list_async(
                params={"invoice": invoice_id}
            )
        except stripe.StripeError as exc:
            raise _refused("stripe_invoice_lookup_failed", exc, invoice=invoice_id) from exc
        for p in payments.data:
            pi = p.payment.payment_intent
            if pi:
                return RefundTarget("payment_intent", pi if isinstance(pi, str) else pi.id)
        raise ProviderError(f"invoice {invoice_id} has no PaymentIntent to refund")

    async def close(self, session_id: str, payment_method: str) -> None:
        if payment_method == CHECKOUT or session_id.startswith("cs_"):
            await self._expire_session(session_id)
        elif session_id.startswith("in_"):
            await self._void_invoice(session_id)
        else:
            await self._cancel_payment_intent(session_id)

    async def _void_invoice(self, invoice_id: str) -> None:
        invoices = self._client.v1.invoices
        try:
            await invoices.void_invoice_async(invoice_id)
            return
        except stripe.InvalidRequestError as exc:
            refusal: stripe.StripeError = exc  # Stripe voids only an open invoice
        except stripe.StripeError as exc:
            raise _refused("stripe_void_failed", exc, invoice=invoice_id) from exc
        try:
            invoice = await invoices.retrieve_async(invoice_id)
        except stripe.StripeError as exc:
            raise _refused("stripe_void_failed", exc, invoice=invoice_id) from exc
        if invoice.status not in ("paid", "void", "uncollectible"):
            raise _refused("stripe_void_failed", refusal, invoice=invoice_id)
        log.info("stripe_invoice_already_closed", invoice=invoice_id, status=invoice.status)

    async def _expire_session(self, session_id: str) -> None:
        sessions = self._client.v1.checkout.sessions
        try:
            await sessions.expire_async(session_id)
            return
        except stripe.InvalidRequestError as exc:
            # Stripe expires only an open session; find out what it is instead.
            refusal: stripe.StripeError = exc
        except stripe.StripeError as exc:
            raise _refused("stripe_expire_failed", exc, session_id=session_id) from exc
        try:
            session = await sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise _refused("stripe_expire_failed", exc, session_id=session_id) from exc
        if not closed_already("checkout_session", session.status):
            raise _refused("stripe_expire_failed", refusal, session_id=session_id)
        log.info("stripe_session_already_closed", session_id=session_id, status=session.status)

    async def _cancel_payment_intent(self, intent_id: str) -> None:
        intents = self._client.v1.payment_intents
        try:
            await intents.cancel_async(intent_id, params={"cancellation_reason": "abandoned"})
            return
        except stripe.InvalidRequestError as exc:
            # Stripe refuses to cancel a PaymentIntent that succeeded or was already cancelled
            # (payment_intent_unexpected_state); find out which.
            refusal: stripe.StripeError = exc
        except stripe.StripeError as exc:
            raise _refused("stripe_cancel_failed", exc, payment_intent=intent_id) from exc
        try:
            intent = await intents.retrieve_async(intent_id)
        except stripe.StripeError as exc:
            raise _refused("stripe_cancel_failed", exc, payment_intent=intent_id) from exc
        if not closed_already("payment_intent", intent.status):
            raise _refused("stripe_cancel_failed", refusal, payment_intent=intent_id)
        log.info(
            "stripe_payment_intent_already_closed", payment_intent=intent_id, status=intent.status
        )

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def session_lookup(
    status: str | None,
    payment_status: str | None,
    payment_intent: str | None,
    amount_total: int | None,
    currency: str | None,
    *,
    invoice: str | None = None,
) -> PaymentLookup:
    """What a retrieved Checkout Session says about the payment (pure), read as
    checkout.session.completed is: paid only when `payment_status` is `paid`.

    A session that opened a Stripe subscription (a plan's first order) has no PaymentIntent:
    its first invoice paid it, and names the payment. (Its notification names none, so either
    one arriving second finds the payment already on the order.)"""
    if status == "complete" and payment_status == "paid":
        if amount_total is None or not currency:
            raise ProviderError("a paid Checkout Session without amount_total / currency")
        return PaymentLookup(
            PaymentState.PAID,
            payment_intent or invoice,
            paid=Money(amount_total, currency.upper()),
            status=f"{status}/{payment_status}",
        )
    if status == "expired":
        return PaymentLookup(
            PaymentState.FAILED,
            payment_intent,
            reason="expired: the Checkout Session expired unpaid",
            status=status,
        )
    # open, or complete but unpaid (a delayed method settles later and says so by webhook).
    return PaymentLookup(PaymentState.OPEN, payment_intent, status=f"{status}/{payment_status}")


def invoice_lookup(
    status: str | None,
    invoice_id: str,
    payment_intent: str | None,
    amount_paid: int | None,
    currency: str | None,
    paid_at: int | None,
) -> PaymentLookup:
    """What a retrieved invoice says about the order charged on it (pure), read as
    invoice.paid is: paid only when the invoice is `paid`; failed only when it was voided (no
    payment can follow). A declined charge leaves the invoice `open` (Stripe's
    invoice.payment_failed says so, not the invoice), and an `uncollectible` one may still be
    paid: both stay open."""
    if status == "paid":
        if amount_paid is None or not currency:
            raise ProviderError("a paid invoice without amount_paid / currency")
        return PaymentLookup(
            PaymentState.PAID,
            payment_intent or invoice_id,
            paid=Money(amount_paid, currency.upper()),
            at=None if paid_at is None else datetime.fromtimestamp(paid_at, UTC),
            status=status,
        )
    if status == "void":
        return PaymentLookup(
            PaymentState.FAILED,
            payment_intent,
            reason="void: the invoice was voided unpaid",
            status=status,
        )
    return PaymentLookup(PaymentState.OPEN, payment_intent, status=status)


def payment_intent_lookup(
    status: str | None, intent_id: str, amount_received: int | None, currency: str | None
) -> PaymentLookup:
    """What a retrieved PaymentIntent says about the payment (pure)."""
    if status == "succeeded":
        if amount_received is None or not currency:
            raise ProviderError("a succeeded PaymentIntent without amount_received / currency")
        return PaymentLookup(
            PaymentState.PAID,
            intent_id,
            paid=Money(amount_received, currency.upper()),
            status=status,
        )
    if status == "canceled":
        return PaymentLookup(
            PaymentState.FAILED,
            intent_id,
            reason="canceled: the PaymentIntent was canceled",
            status=status,
        )
    return PaymentLookup(PaymentState.OPEN, intent_id, status=status)


def _outcome_of(refund: stripe.Refund) -> RefundOutcome:
    status = refund_status(refund.status)
    detail = None
    if status is RefundStatus.FAILED:
        detail = f"Stripe refund {refund.status}: {refund.failure_reason or 'no reason given'}"
    return RefundOutcome(status=status, provider_refund_id=refund.id, detail=detail)


def _refund_of(refund: stripe.Refund, refund_id: str) -> bool:
    metadata = refund.metadata
    return metadata is not None and "refund_id" in metadata and metadata["refund_id"] == refund_id


def _id(value: object) -> str | None:
    if isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    return found if isinstance(found, str) else None


def _refused(event: str, exc: stripe.StripeError, **fields: str) -> ProviderError:
    log.warning(
        event,
        **fields,
        error=type(exc).__name__,
        code=exc.code,
        message=str(exc),
        http_status=exc.http_status,
    )
    what = f"{type(exc).__name__}" + (f" ({exc.code})" if exc.code else "")
    if isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 500) >= 500:
        # No answer, or Stripe's own failure, after the SDK's retries with the same key: whether
        # Stripe acted is unknown.
        return ProviderUnavailable(f"Stripe did not answer believably: {what}")
    return ProviderError(f"Stripe refused or did not answer: {what}")
