"""The CloudEvents envelope and every event type, versioned in `type`.

Services never redefine a payload by hand: they build and parse these models.
The Kafka key of every event is the user id, so one user's events stay in order.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import to_jsonable_python

from paystream.shared.money import Money
from paystream.shared.values import checked_frozen

# Namespace for deterministic event ids: the same provider event always maps to the same id,
# so a redelivered webhook becomes the same event and consumers' inboxes drop it.
EVENT_NAMESPACE = uuid.UUID("6f1c2a2e-8d0b-4c8e-9a57-2f3b8f0d9e11")


def deterministic_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, "|".join(parts))


def utcnow() -> datetime:
    return datetime.now(UTC)


class EventData(BaseModel):
    """Base of every event payload; `TYPE` is the CloudEvents `type`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str]


Provider = Literal["stripe", "alipay", "wechatpay", "usdt_trc20"]

# The largest amount an event may carry, in minor units: far above any real payment (90
# trillion yuan), and every sum of such amounts still fits PostgreSQL's bigint. A notification
# claiming more is not a payment to act on (webhook-ingest records it for review instead).
MAX_AMOUNT_MINOR = 2**53


class PaymentSucceededV1(EventData):
    """Money was taken for an order. Carries everything ledger, invoicing and checkout need."""

    TYPE: ClassVar[str] = "paystream.payment.succeeded.v1"
    order_id: str
    user_id: str
    package_id: str | None = None
    credits: int = Field(ge=0)
    amount_minor: int = Field(ge=0, le=MAX_AMOUNT_MINOR)
    currency: str
    provider: Provider
    provider_event_id: str
    provider_payment_id: str | None = None
    provider_session_id: str | None = None
    paid_at: datetime

    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class PaymentFailedV1(EventData):
    TYPE: ClassVar[str] = "paystream.payment.failed.v1"
    order_id: str
    user_id: str
    provider: Provider
    provider_event_id: str
    provider_payment_id: str | None = None
    provider_session_id: str | None = None
    reason: str
    failed_at: datetime


class RefundSucceededV1(EventData):
    """Money went back to the payer for (part of) an order's payment.

    `provider_refund_id` names the refund at the provider (Stripe `re_...`; for Alipay, WeChat Pay
    and USDT it is our refund id, sent as `out_request_no` / `out_refund_no`). One refund is
    announced by several sources (checkout when the provider answers synchronously, webhook-ingest
    when its notification arrives), always under the envelope id `refund_event_id(...)`, so
    consumers apply it once. `refund_id` is paystream's refund, when it was made through
    `POST /v1/refunds` (absent for a refund made in the provider's dashboard).
    `provider_payment_id` names the payment it returns when known; a refund of a second payment
    of the order (not the one OrderPaidV1 recorded, `refunds_another_payment`) takes nothing back
    from the order's grant or invoice.
    """

    TYPE: ClassVar[str] = "paystream.refund.succeeded.v1"
    order_id: str
    user_id: str
    refund_id: str | None = None
    provider: Provider
    provider_refund_id: str
    provider_payment_id: str | None = None
    amount_minor: int = Field(gt=0, le=MAX_AMOUNT_MINOR)
    currency: str
    reason: str | None = None
    refunded_at: datetime

    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def refund_key(self) -> str:
        return f"{self.provider}:{self.provider_refund_id}"


def refunds_another_payment(refunded: str | None, paid: str | None) -> bool:
    """Whether a refund of the payment `refunded` returns another payment than `paid`, the one
    OrderPaidV1 recorded for its order: a second payment of the order (checkout's
    second_payments), whose refund takes no credits back and issues no credit note.

    False when either is unknown (events from before the refund named its payment) or when they
    are different kinds of id for what may be one payment (Stripe's `ch_` charge of a `pi_`
    PaymentIntent): then the refund is the order's, as it always was.
    """
    if not refunded or not paid or refunded == paid:
        return False
    return _id_kind(refunded) == _id_kind(paid)


def _id_kind(payment_id: str) -> str:
    head, sep, _ = payment_id.partition("_")
    return head if sep else ""


class RefundFailedV1(EventData):
    """A refund the provider accepted could not be completed; nothing was returned."""

    TYPE: ClassVar[str] = "paystream.refund.failed.v1"
    order_id: str
    user_id: str
    refund_id: str | None = None
    provider: Provider
    provider_refund_id: str
    amount_minor: int = Field(gt=0)
    currency: str
    reason: str
    failed_at: datetime

    @property
    def refund_key(self) -> str:
        return f"{self.provider}:{self.provider_refund_id}"


class RefundReportedV1(EventData):
    """A provider reported a refund in a form no ledger or invoice may apply as it is: only
    checkout consumes it, and announces the refund as `RefundSucceededV1` once it knows the
    refund's own amount and its order.

    Either `refunded_total_minor` is set (Alipay's refund notification carries `refund_fee`, the
    CUMULATIVE amount refunded on the trade, so a second partial refund's notification does not
    say what that refund returned), or `amount_minor` (the refund's own amount, as Stripe says it)
    with no `order_id` (a refund made in the provider's dashboard that names no order: checkout
    matches it by `provider_payment_id`). Checkout lists what it cannot match or measure for an
    operator. Kafka key: the user id, or without one the provider's payment reference.
    """

    TYPE: ClassVar[str] = "paystream.refund.reported.v1"
    order_id: str | None = None
    user_id: str | None = None
    provider: Provider
    provider_refund_id: str
    provider_payment_id: str | None = None
    amount_minor: int | None = Field(default=None, gt=0, le=MAX_AMOUNT_MINOR)
    refunded_total_minor: int | None = Field(default=None, gt=0, le=MAX_AMOUNT_MINOR)
    currency: str
    reason: str | None = None
    refunded_at: datetime

    @property
    def refund_key(self) -> str:
        return f"{self.provider}:{self.provider_refund_id}"

    @property
    def kafka_key(self) -> str:
        """The user's key when the report names one, else the payment's (one payment's
        reports stay in order either way)."""
        payment = self.provider_payment_id or self.provider_refund_id
        return self.user_id or f"{self.provider}:{payment}"


def payment_event_id(
    kind: Literal["payment", "payment.failed"], provider: str, reference: str
) -> uuid.UUID:
    """The envelope id of a payment outcome keyed by the provider's reference for the payment
    (Alipay trade_no, WeChat Pay transaction_id, a USDT txid, a Stripe PaymentIntent id): the
    same whether a notification, the chain watcher or a query (`POST /v1/orders/{id}/sync`, the
    reconciler) announces it, so consumers' inboxes apply it once."""
    return deterministic_id(provider, reference, kind)


def refund_event_id(
    kind: Literal["succeeded", "failed", "reported"], provider: str, refund_id: str
) -> uuid.UUID:
    """The envelope id of a refund outcome: the same whichever source announces it (`reported`:
    a provider's report that checkout turns into the `succeeded` one)."""
    return deterministic_id(f"refund.{kind}", provider, refund_id)


class OrderCreatedV1(EventData):
    TYPE: ClassVar[str] = "paystream.order.created.v1"
    order_id: str
    user_id: str
    package_id: str
    credits: int
    amount_minor: int
    currency: str
    payment_method: str
    provider_session_id: str | None = None
    created_at: datetime


class OrderStatusChangedV1(EventData):
    TYPE: ClassVar[str] = "paystream.order.status_changed.v1"
    order_id: str
    user_id: str
    old_status: str
    new_status: str
    changed_at: datetime


# Units a ledger keeps per user: `credits` by default; a catalog may define others
# (`receives`). Lower-case, as they appear in URLs (`GET /v1/lots?unit=receives`).
UNIT_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
DEFAULT_UNIT = "credits"
# Credits are integers; this bound keeps every sum of them inside PostgreSQL's bigint.
MAX_CREDITS = 2**53

LotSource = Literal[
    "purchase", "plan_allowance", "promotion", "adjustment", "auto_recharge", "rollover"
]


class GrantSpec(BaseModel):
    """What a paid order grants: one lot of `quantity` units (see the ledger's README)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str = Field(default=DEFAULT_UNIT, pattern=UNIT_PATTERN)
    quantity: int = Field(gt=0, le=MAX_CREDITS)
    source: LotSource = "purchase"
    # How long the lot lasts from the payment: an ISO 8601 duration (`P6M`), or None for no
    # expiry. `expires_at` instead fixes the end (a plan period's end); at most one is set.
    validity: str | None = Field(default=None, max_length=40)
    expires_at: datetime | None = None
    priority: int = Field(default=50, ge=0, le=100, description="lower is consumed first")
    # The share of the order's price this lot cost, in the order's currency (its cost basis:
    # what an expiry of it is worth, and what a refund of it is measured against).
    cost_minor: int = Field(ge=0)


class InvoiceLine(BaseModel):
    """One line of what an order charged, as its invoice shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(min_length=1, max_length=200)
    quantity: int = Field(gt=0, le=MAX_CREDITS)
    unit_amount_minor: int = Field(ge=0)
    amount_minor: int = Field(ge=0)


class PlanPeriodV1(BaseModel):
    """What a plan's order pays for: the subscription, the plan and the billing period (a
    plan's first period, a renewal, an upgrade's rest of the period, a free allowance)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscription_id: str
    plan_id: str
    kind: Literal["subscription", "renewal", "upgrade", "allowance"]
    period_start: datetime
    period_end: datetime
    from_plan_id: str | None = None
    # The plan lets up to this many unused units of a month's allowance carry into the next
    # month (a `rollover` lot); None: no rollover. Only the ledger of lots knows what is unused.
    rollover_cap: int | None = Field(default=None, ge=0)


class OrderPaidV1(EventData):
    """Checkout accepted a payment for an order: the order's facts, never the notification's,
    say what it grants and what it cost. Ledger grants from it, invoicing invoices from it.

    A plan's order names its subscription and period (`plan`). A free allowance (a free plan's
    month, an annual plan's later months) is an order that cost nothing: `amount_minor` 0 and no
    `provider`; it grants and is not invoiced.

    `amount_minor`/`currency` is what the order costs; `paid_minor`/`paid_currency` what the
    provider took. They differ only when an operator accepted a mismatched payment after review
    (`review="accepted"`) or the payer paid more (`review="overpaid"`, granted as ordered and
    flagged for a refund of the difference). Its id is `order_paid_event_id(order_id)`: one per
    order, whatever number of provider events announced the payment.
    """

    TYPE: ClassVar[str] = "paystream.order.paid.v1"
    order_id: str
    user_id: str
    package_id: str | None = None
    grants: list[GrantSpec]
    lines: list[InvoiceLine] = Field(min_length=1)
    amount_minor: int = Field(ge=0)
    currency: str
    paid_minor: int = Field(ge=0)
    paid_currency: str
    provider: Provider | None
    payment_method: str
    provider_payment_id: str | None = None
    provider_event_id: str
    paid_at: datetime
    review: Literal["matched", "overpaid", "accepted"] = "matched"
    reviewed_by: str | None = None
    plan: PlanPeriodV1 | None = None

    def paid(self) -> Money:
        return Money(self.paid_minor, self.paid_currency)


def order_paid_event_id(order_id: str) -> uuid.UUID:
    return deterministic_id("order.paid", order_id)


# ---- subscriptions ------------------------------------------------------------------------------
#
# Checkout's subscriptions announce every transition on orders.events (keyed by user id, so they
# stay in order with the user's orders). Stripe Subscriptions' own notifications are normalized by
# webhook-ingest onto payments.events, like payments.

SubscriptionStatus = Literal["active", "past_due"]


class SubscriptionChangedV1(EventData):
    """A user's subscription changed: a plan bought, renewed, upgraded, a downgrade or cancel
    scheduled or done, a renewal unpaid (`past_due`), a drop to the free plan. `change` says
    which; the rest is the subscription as it is now."""

    TYPE: ClassVar[str] = "paystream.subscription.changed.v1"
    subscription_id: str
    user_id: str
    change: str
    plan_id: str
    status: SubscriptionStatus
    old_plan_id: str | None = None
    old_status: SubscriptionStatus | None = None
    billing: Literal["free", "stripe", "manual"]
    period_start: datetime
    period_end: datetime
    next_plan_id: str | None = None
    grace_ends_at: datetime | None = None
    order_id: str | None = None
    changed_at: datetime


class SubscriptionRenewalDueV1(EventData):
    """A plan paid without recurring charges (Alipay, WeChat Pay, USDT) ends soon: the user is
    reminded to pay the next period (`POST /v1/subscriptions/renew`) before `due_at`; unpaid, the
    plan drops to the free plan at `grace_ends_at`. Once per period."""

    TYPE: ClassVar[str] = "paystream.subscription.renewal_due.v1"
    subscription_id: str
    user_id: str
    plan_id: str
    amount_minor: int = Field(ge=0)
    currency: str
    period_start: datetime
    period_end: datetime
    due_at: datetime
    grace_ends_at: datetime
    payment_method: str | None = None
    reminded_at: datetime


def renewal_due_event_id(subscription_id: str, period_index: int) -> uuid.UUID:
    return deterministic_id("subscription.renewal_due", subscription_id, str(period_index))


class SubscriptionInvoicePaidV1(EventData):
    """Stripe Subscriptions charged a subscription's invoice (`invoice.paid`): its first
    (`subscription_create`) or a renewal (`subscription_cycle`). `subscription_id` is
    paystream's, from the subscription's metadata; checkout makes the renewal's order."""

    TYPE: ClassVar[str] = "paystream.subscription.invoice_paid.v1"
    subscription_id: str
    user_id: str
    provider: Provider
    provider_event_id: str
    provider_subscription_id: str
    provider_customer_id: str | None = None
    provider_invoice_id: str
    provider_payment_id: str | None = None
    billing_reason: str
    amount_minor: int = Field(ge=0, le=MAX_AMOUNT_MINOR)
    currency: str
    period_start: datetime | None = None
    period_end: datetime | None = None
    paid_at: datetime


class SubscriptionPaymentFailedV1(EventData):
    """Stripe could not charge a subscription's invoice (`invoice.payment_failed`); it retries
    on its schedule (`next_attempt_at`, none when it gave up)."""

    TYPE: ClassVar[str] = "paystream.subscription.payment_failed.v1"
    subscription_id: str
    user_id: str
    provider: Provider
    provider_event_id: str
    provider_subscription_id: str
    provider_invoice_id: str
    billing_reason: str | None = None
    attempt_count: int = Field(default=0, ge=0)
    next_attempt_at: datetime | None = None
    reason: str
    failed_at: datetime


class SubscriptionStatusV1(EventData):
    """The provider's view of a subscription changed (`customer.subscription.updated` /
    `.deleted`): `status` is Stripe's (active, past_due, unpaid, canceled, ...)."""

    TYPE: ClassVar[str] = "paystream.subscription.status.v1"
    subscription_id: str
    user_id: str
    provider: Provider
    provider_event_id: str
    provider_subscription_id: str
    status: str
    deleted: bool = False
    cancel_at_period_end: bool = False
    changed_at: datetime


# ---- sandbox.clock: the one sandbox time -------------------------------------------------------


class SandboxClockAdvancedV1(EventData):
    """An admin moved the sandbox clock forward by `step_us` microseconds (sandbox mode only).
    Every service's sandbox offset is the sum of the steps on `sandbox.clock`, read from its
    beginning, so all of them keep one time (`paystream.shared.clock.SharedSandboxClock`)."""

    TYPE: ClassVar[str] = "paystream.sandbox.clock_advanced.v1"
    step_us: int = Field(gt=0)
    actor: str = Field(min_length=1, max_length=200)
    # The service whose endpoint the admin called, and the real (not the sandbox) time then.
    via: str = Field(min_length=1, max_length=100)
    advanced_at: datetime


# ---- ledger.events: the ledger's journal ------------------------------------------------------
#
# Every change the ledger makes is published here, in the transaction that made it (outbox), with
# everything needed to apply the same effect again: a ledger database that is lost is restored
# from this topic (see the ledger's README). Fields added to the first versions have defaults, so
# events written before them still parse.


class LotAmount(BaseModel):
    """Credits one entry moved on one lot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lot_id: uuid.UUID
    credits: int = Field(gt=0)


class LotV1(BaseModel):
    """A lot as granted: what it holds, from when, until when, and what it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID
    source: LotSource
    credits: int = Field(gt=0, le=MAX_CREDITS)
    effective_at: datetime
    expires_at: datetime | None
    # How expires_at was set: an ISO 8601 duration ("P6M"), "fixed" (a given end), or "none".
    validity_rule: str
    priority: int = Field(ge=0, le=100)
    cost_minor: int = Field(ge=0)
    cost_currency: str | None = None
    order_id: str | None = None
    order_line: int | None = None


class CreditsGrantedV1(EventData):
    """A lot was granted: for a paid order (`kind="grant"`) or by an operator
    (`kind="adjustment"`, lot source `promotion` or `adjustment`)."""

    TYPE: ClassVar[str] = "paystream.credits.granted.v1"
    user_id: str
    transaction_id: str
    order_id: str | None
    credits: int
    balance_after: int
    granted_at: datetime
    unit: str = DEFAULT_UNIT
    kind: Literal["grant", "adjustment"] = "grant"
    lot: LotV1 | None = None
    # What the order's payment was (a refund is measured against it), and the event it came from.
    paid_minor: int | None = None
    paid_currency: str | None = None
    cause_event_id: uuid.UUID | None = None
    reason: str | None = None
    actor: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    # The provider payment OrderPaidV1 named for the order: a refund of another payment of the
    # same order (a second payment) takes nothing back, also in a ledger restored from here.
    provider_payment_id: str | None = None


class CreditsSpentV1(EventData):
    TYPE: ClassVar[str] = "paystream.credits.spent.v1"
    user_id: str
    transaction_id: str
    credits: int
    reason: str
    balance_after: int
    spent_at: datetime
    unit: str = DEFAULT_UNIT
    lots: list[LotAmount] = Field(default_factory=list)
    idempotency_key: str | None = None
    request_hash: str | None = None


class CreditsHeldV1(EventData):
    """Credits reserved by a hold until `hold_expires_at`; not spendable meanwhile."""

    TYPE: ClassVar[str] = "paystream.credits.held.v1"
    user_id: str
    transaction_id: str
    hold_id: uuid.UUID
    unit: str
    credits: int = Field(gt=0)
    hold_expires_at: datetime
    reason: str
    lots: list[LotAmount]
    idempotency_key: str
    request_hash: str
    balance_after: int
    held_at: datetime


class CreditsCapturedV1(EventData):
    """Held credits spent. What the capture did not take is released (CreditsReleasedV1)."""

    TYPE: ClassVar[str] = "paystream.credits.captured.v1"
    user_id: str
    transaction_id: str
    hold_id: uuid.UUID
    unit: str
    credits: int = Field(gt=0)
    lots: list[LotAmount]
    balance_after: int
    captured_at: datetime


class CreditsReleasedV1(EventData):
    """Held credits made spendable again: released by the caller, the rest of a capture, or a
    hold whose time ran out (`cause`)."""

    TYPE: ClassVar[str] = "paystream.credits.released.v1"
    user_id: str
    transaction_id: str
    hold_id: uuid.UUID
    unit: str
    credits: int = Field(gt=0)
    cause: Literal["release", "capture", "expired"]
    lots: list[LotAmount]
    balance_after: int
    released_at: datetime


class CreditsExpiredV1(EventData):
    """A lot's remaining credits expired (`expires_at` passed): moved to breakage, valued at the
    lot's cost basis (`cost_minor` of `cost_currency`; zero for free credits)."""

    TYPE: ClassVar[str] = "paystream.credits.expired.v1"
    user_id: str
    transaction_id: str
    unit: str
    lot_id: uuid.UUID
    credits: int = Field(gt=0)
    cost_minor: int = Field(ge=0)
    cost_currency: str | None
    expires_at: datetime
    balance_after: int
    expired_at: datetime


class CreditsExpiringV1(EventData):
    """A lot's credits expire soon: sent once per lot `notice` days before (7 and 1)."""

    TYPE: ClassVar[str] = "paystream.credits.expiring.v1"
    user_id: str
    unit: str
    lot_id: uuid.UUID
    credits: int = Field(ge=0)
    expires_at: datetime
    notice: Literal["7d", "1d"]
    balance_after: int
    noticed_at: datetime


def credits_expiring_event_id(lot_id: uuid.UUID, notice: str) -> uuid.UUID:
    return deterministic_id("credits.expiring", str(lot_id), notice)


class CreditsVoidedV1(EventData):
    """An operator voided what was left of a lot."""

    TYPE: ClassVar[str] = "paystream.credits.voided.v1"
    user_id: str
    transaction_id: str
    unit: str
    lot_id: uuid.UUID
    credits: int = Field(gt=0)
    cost_minor: int = Field(ge=0)
    cost_currency: str | None
    reason: str
    actor: str
    idempotency_key: str
    request_hash: str
    balance_after: int
    voided_at: datetime


class RefundFactsV1(BaseModel):
    """The refund a revocation was for, as the ledger recorded it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: uuid.UUID
    event_id: uuid.UUID
    refund_id: str | None
    provider: Provider
    provider_refund_id: str
    amount_minor: int
    currency: str
    reason: str | None
    refunded_at: datetime
    received_at: datetime


class CreditsRevokedV1(EventData):
    """Credits revoked because the payment that bought them was refunded.

    `credits` is what was revoked from the balance; `shortfall` is what was due but had already
    been spent (the ledger never takes a balance below zero; see the ledger's refund policy).
    """

    TYPE: ClassVar[str] = "paystream.credits.revoked.v1"
    user_id: str
    transaction_id: str | None
    order_id: str
    refund_key: str
    credits: int = Field(ge=0)
    shortfall: int = Field(ge=0)
    balance_after: int
    revoked_at: datetime
    unit: str = DEFAULT_UNIT
    credits_due: int | None = None
    lots: list[LotAmount] = Field(default_factory=list)
    refund: RefundFactsV1 | None = None


class BalanceLowV1(EventData):
    """A user's available balance in a unit crossed below the threshold set for it (once per
    crossing: it is sent again only after the balance went back to the threshold or above)."""

    TYPE: ClassVar[str] = "paystream.balance.low.v1"
    user_id: str
    unit: str
    threshold: int = Field(ge=0)
    available: int
    crossed_at: datetime


class BalanceThresholdSetV1(EventData):
    """The low-balance threshold of a user's unit was set (or removed: `threshold` None)."""

    TYPE: ClassVar[str] = "paystream.balance.threshold_set.v1"
    user_id: str
    unit: str
    threshold: int | None = Field(ge=0)
    below: bool
    actor: str
    set_at: datetime


class WebhookReceivedV1(EventData):
    """A verified provider notification, kept verbatim in `webhooks.raw` for reprocessing."""

    TYPE: ClassVar[str] = "paystream.webhook.received.v1"
    provider: Provider
    provider_event_id: str
    provider_event_type: str
    content_type: str
    body: str
    received_at: datetime


# --- saved payment methods and auto-recharge (issue 12) ------------------------------------


class PaymentMethodChangedV1(EventData):
    """Stripe says a customer's saved payment methods changed (webhook-ingest normalizes
    `setup_intent.succeeded`, `payment_method.attached` / `detached` and `customer.updated`).

    Only what Stripe returns for display travels: brand, last 4, expiry. The Kafka key is the
    Stripe customer id (a PaymentMethod names no paystream user; checkout maps the customer to
    its user), so one customer's changes stay in order."""

    TYPE: ClassVar[str] = "paystream.payment_method.changed.v1"
    provider: Literal["stripe"] = "stripe"
    provider_event_id: str
    change: Literal["attached", "detached", "default_changed", "setup_succeeded"]
    customer_id: str | None = None
    payment_method_id: str | None = None
    type: str | None = None
    brand: str | None = None
    last4: str | None = Field(default=None, max_length=4)
    exp_month: int | None = Field(default=None, ge=1, le=12)
    exp_year: int | None = Field(default=None, ge=2000, le=9999)
    changed_at: datetime


class AutoRechargeConfiguredV1(EventData):
    """A user's auto-recharge of a unit was set (or turned off: `threshold` None). The ledger
    consumes it and keeps its low-balance threshold for the unit equal to `threshold`, so its
    `paystream.balance.low.v1` events are what checkout's auto-recharge runs on."""

    TYPE: ClassVar[str] = "paystream.auto_recharge.configured.v1"
    user_id: str
    unit: str = Field(pattern=UNIT_PATTERN)
    threshold: int | None = Field(ge=0, le=MAX_CREDITS)
    actor: str
    configured_at: datetime


AutoRechargeStatus = Literal["active", "requires_action", "disabled"]


class AutoRechargeSucceededV1(EventData):
    """An auto-recharge charge went through; its order is credited on the normal path."""

    TYPE: ClassVar[str] = "paystream.auto_recharge.succeeded.v1"
    user_id: str
    unit: str
    attempt_id: str
    order_id: str
    amount_minor: int = Field(ge=0, le=MAX_AMOUNT_MINOR)
    currency: str
    at: datetime


class AutoRechargeRequiresActionV1(EventData):
    """The bank asks the user to authenticate: nothing more is charged until they complete the
    payment on-session at `action_url` (or change the settings)."""

    TYPE: ClassVar[str] = "paystream.auto_recharge.requires_action.v1"
    user_id: str
    unit: str
    attempt_id: str
    order_id: str | None = None
    reason: str
    action_url: str | None = None
    at: datetime


class AutoRechargeFailedV1(EventData):
    """An auto-recharge charged nothing: a transient failure (`retry_at` set), or a refusal
    before any charge (a cap reached, no usable payment method)."""

    TYPE: ClassVar[str] = "paystream.auto_recharge.failed.v1"
    user_id: str
    unit: str
    attempt_id: str | None = None
    order_id: str | None = None
    code: str
    reason: str
    retry_at: datetime | None = None
    at: datetime


class AutoRechargeDisabledV1(EventData):
    """Auto-recharge stopped: a hard decline, retries exhausted, or the user turned it off."""

    TYPE: ClassVar[str] = "paystream.auto_recharge.disabled.v1"
    user_id: str
    unit: str
    code: str
    reason: str
    at: datetime


EVENT_TYPES: dict[str, type[EventData]] = {
    cls.TYPE: cls
    for cls in (
        PaymentSucceededV1,
        PaymentFailedV1,
        RefundSucceededV1,
        RefundFailedV1,
        RefundReportedV1,
        OrderCreatedV1,
        OrderStatusChangedV1,
        OrderPaidV1,
        SubscriptionChangedV1,
        SubscriptionRenewalDueV1,
        SubscriptionInvoicePaidV1,
        SubscriptionPaymentFailedV1,
        SubscriptionStatusV1,
        CreditsGrantedV1,
        CreditsSpentV1,
        CreditsHeldV1,
        CreditsCapturedV1,
        CreditsReleasedV1,
        CreditsExpiredV1,
        CreditsExpiringV1,
        CreditsVoidedV1,
        CreditsRevokedV1,
        BalanceLowV1,
        BalanceThresholdSetV1,
        WebhookReceivedV1,
        SandboxClockAdvancedV1,
        PaymentMethodChangedV1,
        AutoRechargeConfiguredV1,
        AutoRechargeSucceededV1,
        AutoRechargeRequiresActionV1,
        AutoRechargeFailedV1,
        AutoRechargeDisabledV1,
    )
}

D = TypeVar("D", bound=EventData)


class Envelope(BaseModel):
    """CloudEvents 1.0 structured-mode envelope with a typed `data`."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        source: str,
        subject: str | None = None,
        id: uuid.UUID | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        return cls(
            id=id or uuid.uuid4(),
            source=source,
            type=data.TYPE,
            time=time or utcnow(),
            subject=subject,
            data=data.model_dump(mode="json"),
        )

    def payload(self) -> EventData:
        """Parse `data` into the model named by `type` (UnknownEventType, ValidationError)."""
        cls = EVENT_TYPES.get(self.type)
        if cls is None:
            raise UnknownEventType(self.type)
        return cls.model_validate(self.data)

    def payload_as(self, cls: builtins.type[D]) -> D:
        if self.type != cls.TYPE:
            raise UnknownEventType(f"expected {cls.TYPE}, got {self.type}")
        return cls.model_validate(self.data)

    def to_bytes(self) -> bytes:
        """`orjson.dumps(self.model_dump(mode="json"))`, byte for byte, without the dump."""
        return _encode(self.id, self.source, self.type, self.time, self.subject, self.data)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidEvent(f"not JSON: {exc}") from exc
        try:
            return cls.model_validate(obj)
        except ValidationError as exc:
            raise InvalidEvent(f"not a CloudEvents envelope: {exc}") from exc


def encode_envelope(
    data: EventData,
    *,
    source: str,
    id: uuid.UUID,
    time: datetime,
    subject: str | None = None,
) -> bytes:
    """`Envelope.wrap(data, ...).to_bytes()`, byte for byte, from one dump of the payload and no
    envelope model: what a producer on a hot path writes (a unit test pins the equality)."""
    return _encode(id, source, data.TYPE, time, subject, data.model_dump(mode="json"))


_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


@checked_frozen
class Encoded:
    """An event already serialized as `Envelope.to_bytes()` would, with the id and type its
    record headers name: what a hot path hands the outbox when it writes the bytes without
    building the models (each such encoder has a test pinning it to the models' bytes)."""

    id: uuid.UUID
    type: str
    value: bytes

    def to_bytes(self) -> bytes:
        return self.value


def json_time(t: datetime) -> datetime | str:
    """A datetime as `_encode` writes it inside an event: handed to orjson where it writes what
    pydantic's JSON mode does (a UTC time, `Z`), else pydantic's own text of it."""
    return t if t.tzinfo is UTC else _DATETIME.dump_python(t, mode="json")


def encode_data(
    type: str,
    data: dict[str, Any],
    *,
    source: str,
    id: uuid.UUID,
    time: datetime,
    subject: str | None = None,
) -> Encoded:
    """An event from its `data` as `model_dump(mode="json")` gives it (datetimes through
    `json_time`), serialized without any model."""
    return Encoded(id, type, _encode(id, source, type, time, subject, data))


def _encode(
    id: uuid.UUID,
    source: str,
    type: str,
    time: datetime,
    subject: str | None,
    data: dict[str, Any],
) -> bytes:
    # Keys in Envelope's field order (orjson keeps dict order). pydantic and orjson write a UTC
    # time alike (`Z`); any other zone is written by pydantic, which the model would use.
    # `default` writes what orjson does not know (a Decimal in a hand-made data dict) as
    # pydantic's JSON mode does.
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(id),
            "source": source,
            "type": type,
            "time": time if time.tzinfo is UTC else _DATETIME.dump_python(time, mode="json"),
            "subject": subject,
            "datacontenttype": "application/json",
            "data": data,
        },
        option=orjson.OPT_UTC_Z,
        default=to_jsonable_python,
    )


class InvalidEvent(ValueError):
    """A message that can never be processed as it is: it goes to the DLQ at once."""


class UnknownEventType(InvalidEvent):
    pass


def envelope_of(name: str, types: Sequence[builtins.type[EventData]]) -> builtins.type[Envelope]:
    """The envelope carrying one of `types`, as a model: what the AsyncAPI documents show for a
    topic. Only for documentation; consumers parse with `Envelope.from_bytes` and `payload()`."""
    if not types:
        return Envelope
    data: Any = Union[tuple(types)]  # noqa: UP007 - a union built at run time
    kind: Any = Literal[tuple(t.TYPE for t in types)]
    return create_model(name, __base__=Envelope, type=(kind, ...), data=(data, ...))
