"""Payment providers as checkout sees them: open a payment for an order, refund it, close it.

Each provider implements `PaymentProvider`: Stripe, Alipay and WeChat Pay in their own module
here, USDT on TRC20 in `paystream.checkout.usdt.provider` (its deposits and watcher live in that
package). Checkout picks the provider by the order's `payment_method`; nothing else in checkout
knows which provider it talks to. Provider calls are made outside any database transaction (see
`orders.service.place_order`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

from paystream.shared.events import Provider
from paystream.shared.money import Money


class ProviderError(Exception):
    """The provider refused the request or could not be reached."""


class ProviderUnavailable(ProviderError):
    """No answer that can be believed (a timeout, a reset connection, a 5xx): whether the
    provider acted is unknown, so nothing may be concluded from it; ask again later.

    `provider_refund_id` is the refund's id at the provider when it is ours to choose (Alipay
    out_request_no, WeChat Pay out_refund_no), so a later notification finds the refund."""

    def __init__(self, message: str, *, provider_refund_id: str | None = None) -> None:
        super().__init__(message)
        self.provider_refund_id = provider_refund_id


@dataclass(frozen=True, slots=True)
class Recurring:
    """The order opens a subscription that the provider charges again every period (Stripe
    Subscriptions). Providers without recurring charges ignore it: they take this one payment,
    and paystream asks for the next one (see the subscriptions package)."""

    interval: Literal["month", "year"]
    # When the provider's next charge falls: the start of the subscription's second period.
    next_period_at: datetime
    # What names the subscription in the provider's renewal notifications.
    metadata: tuple[tuple[str, str], ...]
    # An existing subscription at the provider (its customer and subscription): a charge for it
    # (an upgrade's difference) goes on its invoice, to its saved payment method.
    customer_id: str | None = None
    subscription_id: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    order_id: str
    user_id: str
    package_id: str
    package_name: str
    credits: int
    amount: Money
    payment_method: str
    return_url: str
    expires_at: datetime
    client_ip: str | None = None
    recurring: Recurring | None = None
    # Save the card paying this order to this Stripe Customer (issue 12; Stripe only).
    save_for_customer: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """What the provider gave back for an order: stored on it and shown to the frontend."""

    # The provider's reference for this payment attempt: a Checkout Session id, a PaymentIntent
    # id, an Alipay / WeChat Pay out_trade_no, a USDT deposit id. Used to close it.
    session_id: str
    payment_url: str | None = None
    client_secret: str | None = None
    qr_code: str | None = None
    deposit_address: str | None = None
    # The exact amount to send (USDT: 6 decimals, unique among open orders).
    deposit_amount: Money | None = None
    # What the payer may use (a Stripe PaymentIntent's payment_method_types).
    payment_method_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RefundRequest:
    # Ours; providers that take a merchant refund number get it (Alipay out_request_no, WeChat
    # Pay out_refund_no), Stripe gets it as metadata and in the idempotency key.
    refund_id: str
    order_id: str
    user_id: str
    amount: Money
    payment_amount: Money
    payment_method: str
    provider_payment_id: str | None
    provider_session_id: str | None
    reason: str
    # Known once the provider answered (Stripe re_...); the reconciler's queries use it.
    provider_refund_id: str | None = None


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"  # the provider will tell us later (a webhook / notification)
    FAILED = "failed"
    MANUAL = "manual"  # an operator pays it out by hand (USDT)


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    status: RefundStatus
    # The refund's id at the provider (Stripe re_...); for providers keyed by our number it is
    # the refund_id we sent.
    provider_refund_id: str
    detail: str | None = None


class PaymentState(StrEnum):
    PAID = "paid"
    FAILED = "failed"  # final: the payment can no longer be made (closed, cancelled, expired)
    OPEN = "open"  # nothing final yet (not paid, or paid by a method that settles later)


@dataclass(frozen=True, slots=True)
class PaymentLookup:
    """What the provider says about an order's payment when asked (sync, the reconciler)."""

    state: PaymentState
    # The provider's reference for the payment (Alipay trade_no, WeChat Pay transaction_id, a
    # PaymentIntent id); the envelope id of the outcome derives from it.
    provider_payment_id: str | None = None
    paid: Money | None = None  # PAID: what was taken, as the provider says
    at: datetime | None = None
    reason: str | None = None  # FAILED: why
    status: str | None = None  # the provider's own word for the state, for logs and metrics


class PaymentProvider(Protocol):
    @property
    def name(self) -> Provider: ...

    def methods_for(self, currency: str) -> tuple[str, ...]:
        """The `payment_method` values this provider takes for `currency` (may be empty)."""
        ...

    async def create_payment(self, req: PaymentRequest) -> PaymentInstructions:
        """Open the payment at the provider (ProviderError when refused or unreachable)."""
        ...

    async def refund(self, req: RefundRequest) -> RefundOutcome:
        """Ask the provider to return `req.amount` (ProviderError when it cannot be asked)."""
        ...

    async def query_payment(self, session_id: str, payment_method: str) -> PaymentLookup:
        """Ask the provider where the payment opened as `session_id` stands
        (ProviderUnavailable when no answer can be believed, ProviderError otherwise)."""
        ...

    async def query_refund(self, req: RefundRequest) -> RefundOutcome:
        """Ask the provider where a refund stands: its own record first, and only when the
        provider has none, the same idempotent refund request again (so a request lost on
        the way is made once). FAILED only on the provider's definite word; ProviderUnavailable
        when no answer can be believed."""
        ...

    async def close(self, session_id: str, payment_method: str) -> None:
        """Close / expire the payment at the provider so it can no longer be paid, where the
        provider allows it; a payment already closed is not an error (ProviderError otherwise)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One money movement in a provider's settlement data for a day: a payment taken or a
    refund returned, what moved (positive) and the provider's fee on it (negative when the
    provider gives a fee back on a refund)."""

    kind: Literal["payment", "refund"]
    # The merchant's number the provider keyed it by: a payment's out_trade_no / PaymentIntent,
    # a refund's out_request_no / out_refund_no / re_ id.
    reference: str
    amount: Money
    fee: Money
    at: datetime
    provider_id: str | None = None  # the provider's own id (trade_no, transaction_id, txn_)
    trade_reference: str | None = None  # a refund's payment, as `reference` of the payment


@runtime_checkable
class SettlementSource(Protocol):
    """A provider that publishes what it settled per day (Stripe, Alipay, WeChat Pay)."""

    @property
    def name(self) -> Provider: ...

    # The provider's day: Alipay and WeChat Pay cut their bills at midnight Beijing time.
    settlement_tz: tzinfo

    async def settlement(self, day: date) -> list[SettlementLine]:
        """Every payment and refund the provider settled on `day` (ProviderUnavailable when it
        cannot be fetched, ProviderError when the provider refuses or the file is unreadable)."""
        ...
