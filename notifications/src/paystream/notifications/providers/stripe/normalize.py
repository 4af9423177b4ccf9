"""A verified Stripe event as paystream's payment, refund and subscription events (pure: no I/O,
no clock).

The same function runs on the live request and over `webhooks.raw` when an operator reprocesses
history, so everything it produces comes from the event itself: envelope ids
`deterministic_id("stripe", <event id>, "payment")` for payments (Stripe sends several events per
payment, so the order's recorded PaymentIntent, not the id, makes later ones no-ops; checkout's
sync announces under `payment_event_id(..., <pi_...>)`),
`refund_event_id(<succeeded|failed>, "stripe", <re_...>)` for refunds (`reported` for a
dashboard refund whose order no object in the event names: checkout matches it by its payment) and
`deterministic_id("stripe", <event id>, "subscription")` for Stripe Subscriptions, times from the
event's `created` (else the recorded reception time). Which event type becomes what, and where
the order and subscription facts come from: the notifications README.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from paystream.notifications.errors import MalformedPayload
from paystream.notifications.normalized import (
    Normalized,
    Outcome,
    PaymentEvent,
    SubscriptionEvent,
)
from paystream.notifications.outgoing import OutgoingEvent
from paystream.shared.events import (
    MAX_AMOUNT_MINOR,
    PaymentFailedV1,
    PaymentMethodChangedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionStatusV1,
    WebhookReceivedV1,
    deterministic_id,
    refund_event_id,
)
from paystream.shared.money import CURRENCY_EXPONENTS

PROVIDER = "stripe"
SOURCE = "paystream/webhook-ingest/stripe"

CHECKOUT_COMPLETED = "checkout.session.completed"
CHECKOUT_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
CHECKOUT_ASYNC_FAILED = "checkout.session.async_payment_failed"
PI_SUCCEEDED = "payment_intent.succeeded"
PI_FAILED = "payment_intent.payment_failed"
CHARGE_REFUNDED = "charge.refunded"
REFUND_CREATED = "refund.created"
REFUND_UPDATED = "refund.updated"
REFUND_FAILED = "refund.failed"
# The older name of refund.updated; Stripe still sends both to endpoints subscribed to both.
CHARGE_REFUND_UPDATED = "charge.refund.updated"
INVOICE_PAID = "invoice.paid"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
# Saved payment methods (checkout follows a customer's cards).
SETUP_SUCCEEDED = "setup_intent.succeeded"
PM_ATTACHED = "payment_method.attached"
PM_DETACHED = "payment_method.detached"
CUSTOMER_UPDATED = "customer.updated"

_MAX_CREDITS_DIGITS = 18  # keeps credits inside a PostgreSQL bigint


@dataclass(frozen=True, slots=True)
class StripeEvent:
    """The parts of a Stripe event we read; `obj` is `data.object`."""

    id: str
    type: str
    created: int | None
    obj: dict[str, Any]
    # `data.previous_attributes`: what an update changed (a detached method's customer).
    previous: dict[str, Any] | None = None


def parse_event(body: bytes | str) -> StripeEvent:
    """Parse a (verified) body into a StripeEvent, or raise MalformedPayload."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedPayload("body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise MalformedPayload("body is not a JSON object")
    event_id, event_type, data = doc.get("id"), doc.get("type"), doc.get("data")
    if not isinstance(event_id, str) or not event_id:
        raise MalformedPayload("event has no `id`")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedPayload("event has no `type`")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedPayload("event has no `data.object`")
    created = doc.get("created")
    previous = data.get("previous_attributes")
    return StripeEvent(
        event_id,
        event_type,
        _as_int(created),
        data["object"],
        previous if isinstance(previous, dict) else None,
    )


@dataclass(frozen=True, slots=True)
class _OrderFacts:
    order_id: str
    user_id: str
    credits: int
    package_id: str | None


class _NotOurs(Exception):
    pass


class _Invalid(Exception):
    def __init__(self, detail: str, user_id: str | None = None, order_id: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.user_id = user_id
        self.order_id = order_id


def normalize(event: StripeEvent, *, received_at: datetime) -> Normalized:
    """Map a Stripe event to the payment, refund or subscription events it means (if any); see
    the notifications README's table."""
    if event.type in SAVED_METHOD_TYPES:
        return _on_saved_method(event, _event_time(event, received_at))
    subscription_handler = _SUBSCRIPTION_HANDLERS.get(event.type)
    if subscription_handler is not None and not _names_an_order(event.obj):
        return _on_subscription(event, subscription_handler, _event_time(event, received_at))
    handler = _HANDLERS.get(event.type)
    if handler is None:
        refund_handler = _REFUND_HANDLERS.get(event.type)
        if refund_handler is not None:
            return refund_handler(event, _event_time(event, received_at))
        return Normalized(event.id, event.type, Outcome.UNHANDLED_TYPE, detail="unhandled type")
    user_id: str | None = None
    order_id: str | None = None
    try:
        facts = _order_facts(event.obj)
        user_id, order_id = facts.user_id, facts.order_id
        return handler(event, facts, _event_time(event, received_at))
    except _NotOurs:
        return Normalized(
            event.id, event.type, Outcome.NOT_OURS, detail="object has no paystream order metadata"
        )
    except _Invalid as exc:
        return Normalized(
            event.id,
            event.type,
            Outcome.INVALID_METADATA,
            user_id=exc.user_id,
            order_id=exc.order_id,
            detail=exc.detail,
        )
    except ValidationError as exc:
        # The checks above should leave nothing for the event model to refuse; if it still
        # does, the event stays in webhooks.raw and is reported, rather than answered with a
        # 500 that would make Stripe retry a body that can never succeed.
        return Normalized(
            event.id,
            event.type,
            Outcome.INVALID_METADATA,
            user_id=user_id,
            order_id=order_id,
            detail=f"event model refused: {exc}",
        )


def normalize_raw(raw: WebhookReceivedV1) -> Normalized:
    """What a `webhooks.raw` record means: the live path and reprocessing both run this."""
    return normalize(parse_event(raw.body), received_at=raw.received_at)


# --- per event type -------------------------------------------------------------------------


def _checkout_paid(event: StripeEvent, facts: _OrderFacts, at: datetime) -> Normalized:
    obj = event.obj
    if event.type == CHECKOUT_COMPLETED and obj.get("payment_status") != "paid":
        # Async methods (bank debits, vouchers) complete the session unpaid; the money, if it
        # comes, is announced by checkout.session.async_payment_succeeded.
        return Normalized(
            event.id,
            event.type,
            Outcome.AWAITING_PAYMENT,
            user_id=facts.user_id,
            order_id=facts.order_id,
            detail=f"payment_status is {obj.get('payment_status')!r}",
        )
    amount, currency = _amount(obj, ("amount_total",), facts)
    return _succeeded(
        event,
        facts,
        at,
        amount=amount,
        currency=currency,
        payment_id=_id_of(obj.get("payment_intent")),
        session_id=_str(obj.get("id")),
    )


def _checkout_failed(event: StripeEvent, facts: _OrderFacts, at: datetime) -> Normalized:
    obj = event.obj
    return _failed(
        event,
        facts,
        at,
        reason="async_payment_failed: the delayed payment method did not settle",
        payment_id=_id_of(obj.get("payment_intent")),
        session_id=_str(obj.get("id")),
    )


def _pi_succeeded(event: StripeEvent, facts: _OrderFacts, at: datetime) -> Normalized:
    obj = event.obj
    amount, currency = _amount(obj, ("amount_received", "amount"), facts)
    return _succeeded(
        event,
        facts,
        at,
        amount=amount,
        currency=currency,
        payment_id=_str(obj.get("id")),
        session_id=None,
    )


def _pi_failed(event: StripeEvent, facts: _OrderFacts, at: datetime) -> Normalized:
    obj = event.obj
    err = obj.get("last_payment_error")
    code = message = None
    if isinstance(err, dict):
        code, message = _str(err.get("code")), _str(err.get("message"))
    reason = ": ".join(x for x in (code, message) if x) or "payment_failed"
    return _failed(event, facts, at, reason=reason, payment_id=_str(obj.get("id")), session_id=None)


def _invoice_paid(event: StripeEvent, facts: _OrderFacts, at: datetime) -> Normalized:
    """An invoice checkout opened for an order (an upgrade charged to the subscription's card)."""
    obj = event.obj
    amount, currency = _amount(obj, ("amount_paid",), facts)
    return _succeeded(
        event,
        facts,
        at,
        amount=amount,
        currency=currency,
        payment_id=_id_of(obj.get("payment_intent")) or _str(obj.get("id")),
        session_id=_str(obj.get("id")),
    )


def _invoice_failed(event: StripeEvent, facts: _OrderFacts, at: datetime) -> Normalized:
    obj = event.obj
    return _failed(
        event,
        facts,
        at,
        reason="invoice_payment_failed",
        payment_id=_id_of(obj.get("payment_intent")),
        session_id=_str(obj.get("id")),
    )


_Handler = Callable[[StripeEvent, _OrderFacts, datetime], Normalized]

_HANDLERS: dict[str, _Handler] = {
    CHECKOUT_COMPLETED: _checkout_paid,
    CHECKOUT_ASYNC_SUCCEEDED: _checkout_paid,
    CHECKOUT_ASYNC_FAILED: _checkout_failed,
    PI_SUCCEEDED: _pi_succeeded,
    PI_FAILED: _pi_failed,
    INVOICE_PAID: _invoice_paid,
    INVOICE_PAYMENT_FAILED: _invoice_failed,
}

PAYMENT_TYPES = frozenset(_HANDLERS)


# --- refunds --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RefundFacts:
    order_id: str
    user_id: str
    refund_id: str | None  # paystream's, when checkout made the refund


@dataclass(frozen=True, slots=True)
class _RefundResult:
    """What one refund object became: an event, nothing yet, or a problem to report."""

    refund_id: str | None  # Stripe's re_...
    event: OutgoingEvent | None = None
    pending: bool = False
    unattributed: bool = False
    invalid: str | None = None
    facts: _RefundFacts | None = None


def _on_refund(event: StripeEvent, at: datetime) -> Normalized:
    """refund.created / refund.updated / refund.failed / charge.refund.updated: one refund."""
    result = _refund_outcome(event.obj, charge=None, at=at)
    return _summarize(event, [result])


def _on_charge_refunded(event: StripeEvent, at: datetime) -> Normalized:
    """charge.refunded: the charge, with its refunds in `refunds.data` (older API versions)."""
    charge = event.obj
    refunds = charge.get("refunds")
    data = refunds.get("data") if isinstance(refunds, dict) else None
    if not isinstance(data, list) or not data:
        user_id = order_id = None
        facts = _metadata_facts(charge.get("metadata"))
        if isinstance(facts, _RefundFacts):
            user_id, order_id = facts.user_id, facts.order_id
        return Normalized(
            event.id,
            event.type,
            Outcome.REFUNDS_NOT_LISTED,
            user_id=user_id,
            order_id=order_id,
            detail="charge.refunded without refunds.data (API version 2022-11-15 or later): "
            "the refund.* events announce each refund",
        )
    results = [
        _refund_outcome(r, charge=charge, at=at)
        if isinstance(r, dict)
        else _RefundResult(None, invalid=f"refunds.data holds a {type(r).__name__}")
        for r in data
    ]
    return _summarize(event, results)


def _refund_outcome(
    refund: dict[str, Any], *, charge: dict[str, Any] | None, at: datetime
) -> _RefundResult:
    try:
        return _read_refund(refund, charge=charge, at=at)
    except ValidationError as exc:
        # As for payments: the checks should leave nothing for the model to refuse; if it does,
        # the event stays in webhooks.raw and is reported, not answered with a 500 forever.
        return _RefundResult(_str(refund.get("id")), invalid=f"event model refused: {exc}")


def _read_refund(
    refund: dict[str, Any], *, charge: dict[str, Any] | None, at: datetime
) -> _RefundResult:
    re_id = _str(refund.get("id"))
    if re_id is None:
        return _RefundResult(None, invalid="refund has no id")
    status = refund.get("status")
    facts = _refund_facts(refund, charge)
    if isinstance(facts, str):
        return _RefundResult(re_id, invalid=facts)
    if facts is None and status != "succeeded":
        return _RefundResult(re_id, unattributed=True)
    if status in ("pending", "requires_action"):
        return _RefundResult(re_id, pending=True, facts=facts)
    if status not in ("succeeded", "failed", "canceled"):
        return _RefundResult(re_id, invalid=f"unknown refund status {status!r}", facts=facts)
    amount = _as_int(refund.get("amount"))
    if amount is None or not 0 < amount <= MAX_AMOUNT_MINOR:
        return _RefundResult(re_id, invalid=f"refund amount {refund.get('amount')!r}", facts=facts)
    currency = refund.get("currency")
    code = currency.upper() if isinstance(currency, str) else None
    if code is None or code not in CURRENCY_EXPONENTS:
        return _RefundResult(re_id, invalid=f"unsupported currency {currency!r}", facts=facts)
    payment_id = _id_of(refund.get("payment_intent"))
    if payment_id is None and charge is not None:
        payment_id = _id_of(charge.get("payment_intent")) or _str(charge.get("id"))
    payment_id = payment_id or _id_of(refund.get("charge"))
    if facts is None:
        return _dashboard_refund(re_id, refund, payment_id, amount, code, at)
    data: RefundSucceededV1 | RefundFailedV1
    if status == "succeeded":
        metadata = refund.get("metadata")
        reason = metadata.get("reason") if isinstance(metadata, dict) else None
        data = RefundSucceededV1(
            order_id=facts.order_id,
            user_id=facts.user_id,
            refund_id=facts.refund_id,
            provider=PROVIDER,
            provider_refund_id=re_id,
            provider_payment_id=payment_id,
            amount_minor=amount,
            currency=code,
            reason=_str(reason) or _str(refund.get("reason")),
            refunded_at=at,
        )
        kind: Literal["succeeded", "failed"] = "succeeded"
    else:
        failure = _str(refund.get("failure_reason"))
        data = RefundFailedV1(
            order_id=facts.order_id,
            user_id=facts.user_id,
            refund_id=facts.refund_id,
            provider=PROVIDER,
            provider_refund_id=re_id,
            amount_minor=amount,
            currency=code,
            reason=f"refund {status}" + (f": {failure}" if failure else ""),
            failed_at=at,
        )
        kind = "failed"
    event = OutgoingEvent(
        data,
        source=SOURCE,
        id=refund_event_id(kind, PROVIDER, re_id),
        time=at,
        subject=facts.order_id,
    )
    return _RefundResult(re_id, event=event, facts=facts)


def _dashboard_refund(
    re_id: str,
    refund: dict[str, Any],
    payment_id: str | None,
    amount: int,
    currency: str,
    at: datetime,
) -> _RefundResult:
    """A refund that names no order (made in Stripe's dashboard, on a payment whose metadata
    the event does not carry): reported with its payment for checkout to match, which lists it
    for an operator when no order holds that payment."""
    if payment_id is None:
        return _RefundResult(re_id, unattributed=True)
    metadata = refund.get("metadata")
    reason = metadata.get("reason") if isinstance(metadata, dict) else None
    report = RefundReportedV1(
        provider=PROVIDER,
        provider_refund_id=re_id,
        provider_payment_id=payment_id,
        amount_minor=amount,
        currency=currency,
        reason=_str(reason) or _str(refund.get("reason")),
        refunded_at=at,
    )
    event = OutgoingEvent(
        report,
        source=SOURCE,
        id=refund_event_id("reported", PROVIDER, re_id),
        time=at,
        subject=payment_id,
    )
    return _RefundResult(re_id, event=event)


def _refund_facts(
    refund: dict[str, Any], charge: dict[str, Any] | None
) -> _RefundFacts | str | None:
    """The order a refund belongs to (None: named nowhere; a string: named, but unreadable)."""
    own = refund.get("metadata")
    refund_id = _nonempty(own.get("refund_id")) if isinstance(own, dict) else None
    # Ours first; then the objects the refund was made against, where the event carries them.
    sources = [own]
    for holder in (refund.get("charge"), charge, refund.get("payment_intent")):
        if isinstance(holder, dict):
            sources.append(holder.get("metadata"))
    if charge is not None and isinstance(charge.get("payment_intent"), dict):
        sources.append(charge["payment_intent"].get("metadata"))
    for metadata in sources:
        facts = _metadata_facts(metadata, refund_id)
        if facts is not None:
            return facts
    return None


def _metadata_facts(metadata: object, refund_id: str | None = None) -> _RefundFacts | str | None:
    if not isinstance(metadata, dict) or ("order_id" not in metadata and "user_id" not in metadata):
        return None
    user_id = _nonempty(metadata.get("user_id"))
    order_id = _nonempty(metadata.get("order_id"))
    if user_id is None:
        return "metadata.user_id is missing or not a string"
    if order_id is None:
        return "metadata.order_id is missing or not a string"
    return _RefundFacts(order_id, user_id, refund_id)


def _summarize(event: StripeEvent, results: list[_RefundResult]) -> Normalized:
    events = tuple(r.event for r in results if r.event is not None)
    problems = [f"{r.refund_id or '?'}: {r.invalid}" for r in results if r.invalid is not None] + [
        f"{r.refund_id}: no order facts in the refund's, charge's or payment intent's metadata"
        for r in results
        if r.unattributed
    ]
    first = next((r.facts for r in results if r.facts is not None), None)
    if any(r.invalid is not None for r in results):
        outcome = Outcome.INVALID_METADATA
    elif any(r.unattributed for r in results):
        outcome = Outcome.REFUND_UNATTRIBUTED
    elif any(isinstance(e.data, RefundSucceededV1) for e in events):
        outcome = Outcome.REFUND_SUCCEEDED
    elif any(isinstance(e.data, RefundReportedV1) for e in events):
        outcome = Outcome.REFUND_REPORTED
    elif events:
        outcome = Outcome.REFUND_FAILED
    else:
        outcome = Outcome.REFUND_PENDING
    pending = [r.refund_id for r in results if r.pending]
    detail = "; ".join(problems) or (
        f"not final yet: {', '.join(str(p) for p in pending)}" if pending else None
    )
    return Normalized(
        event.id,
        event.type,
        outcome,
        events=events,
        user_id=first.user_id if first else None,
        order_id=first.order_id if first else None,
        detail=detail,
    )


_RefundHandler = Callable[[StripeEvent, datetime], Normalized]

_REFUND_HANDLERS: dict[str, _RefundHandler] = {
    CHARGE_REFUNDED: _on_charge_refunded,
    REFUND_CREATED: _on_refund,
    REFUND_UPDATED: _on_refund,
    REFUND_FAILED: _on_refund,
    CHARGE_REFUND_UPDATED: _on_refund,
}

REFUND_TYPES = frozenset(_REFUND_HANDLERS)


# --- Stripe Subscriptions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SubscriptionFacts:
    subscription_id: str  # paystream's
    user_id: str
    provider_subscription_id: str  # Stripe's sub_...


def _names_an_order(obj: dict[str, Any]) -> bool:
    metadata = obj.get("metadata")
    return isinstance(metadata, dict) and "order_id" in metadata


def _invoice_subscription(obj: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The subscription's metadata and id on an invoice, where this API version puts them."""
    parent = obj.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    if not isinstance(details, dict):
        details = obj.get("subscription_details")  # API versions before 2025-03-31
    metadata = details.get("metadata") if isinstance(details, dict) else None
    sub = _id_of(details.get("subscription")) if isinstance(details, dict) else None
    return (metadata if isinstance(metadata, dict) else None), sub or _id_of(
        obj.get("subscription")
    )


def _subscription_facts(event: StripeEvent) -> _SubscriptionFacts:
    obj = event.obj
    if event.type in (SUBSCRIPTION_UPDATED, SUBSCRIPTION_DELETED):
        raw_metadata, sub_id = obj.get("metadata"), _str(obj.get("id"))
        metadata = raw_metadata if isinstance(raw_metadata, dict) else None
    else:
        metadata, sub_id = _invoice_subscription(obj)
    if metadata is None or "paystream_subscription_id" not in metadata:
        raise _NotOurs
    user_id = _nonempty(metadata.get("user_id"))
    subscription_id = _nonempty(metadata.get("paystream_subscription_id"))
    if user_id is None:
        raise _Invalid("subscription metadata.user_id is missing or not a string")
    if subscription_id is None or sub_id is None:
        raise _Invalid("the subscription's ids are missing", user_id=user_id)
    return _SubscriptionFacts(subscription_id, user_id, sub_id)


def _timestamp(value: object) -> datetime | None:
    ts = _as_int(value)
    if ts is None or ts <= 0:
        return None
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _service_period(obj: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The period the invoice's subscription line bills (an invoice's own period_start and
    period_end are the previous period's for a renewal)."""
    lines = obj.get("lines")
    data = lines.get("data") if isinstance(lines, dict) else None
    for line in data if isinstance(data, list) else []:
        period = line.get("period") if isinstance(line, dict) else None
        if isinstance(period, dict):
            return _timestamp(period.get("start")), _timestamp(period.get("end"))
    return None, None


def _sub_invoice_paid(
    event: StripeEvent, facts: _SubscriptionFacts, at: datetime
) -> SubscriptionEvent:
    obj = event.obj
    amount = _as_int(obj.get("amount_paid"))
    currency = obj.get("currency")
    code = currency.upper() if isinstance(currency, str) else None
    if amount is None or amount < 0 or code is None or code not in CURRENCY_EXPONENTS:
        raise _Invalid(f"no valid amount_paid / currency: {amount!r} {currency!r}")
    invoice_id = _str(obj.get("id"))
    if invoice_id is None:
        raise _Invalid("the invoice has no id")
    start, end = _service_period(obj)
    transitions = obj.get("status_transitions")
    paid_at = _timestamp(transitions.get("paid_at")) if isinstance(transitions, dict) else None
    return SubscriptionInvoicePaidV1(
        subscription_id=facts.subscription_id,
        user_id=facts.user_id,
        provider=PROVIDER,
        provider_event_id=event.id,
        provider_subscription_id=facts.provider_subscription_id,
        provider_customer_id=_id_of(obj.get("customer")),
        provider_invoice_id=invoice_id,
        provider_payment_id=_id_of(obj.get("payment_intent")),
        billing_reason=_str(obj.get("billing_reason")) or "unknown",
        amount_minor=amount,
        currency=code,
        period_start=start,
        period_end=end,
        paid_at=paid_at or at,
    )


def _sub_payment_failed(
    event: StripeEvent, facts: _SubscriptionFacts, at: datetime
) -> SubscriptionEvent:
    obj = event.obj
    invoice_id = _str(obj.get("id"))
    if invoice_id is None:
        raise _Invalid("the invoice has no id")
    attempts = _as_int(obj.get("attempt_count"))
    return SubscriptionPaymentFailedV1(
        subscription_id=facts.subscription_id,
        user_id=facts.user_id,
        provider=PROVIDER,
        provider_event_id=event.id,
        provider_subscription_id=facts.provider_subscription_id,
        provider_invoice_id=invoice_id,
        billing_reason=_str(obj.get("billing_reason")),
        attempt_count=attempts if attempts is not None and attempts >= 0 else 0,
        # None: Stripe will not retry (its retry schedule is over).
        next_attempt_at=_timestamp(obj.get("next_payment_attempt")),
        reason="invoice_payment_failed",
        failed_at=at,
    )


def _sub_status(event: StripeEvent, facts: _SubscriptionFacts, at: datetime) -> SubscriptionEvent:
    obj = event.obj
    return SubscriptionStatusV1(
        subscription_id=facts.subscription_id,
        user_id=facts.user_id,
        provider=PROVIDER,
        provider_event_id=event.id,
        provider_subscription_id=facts.provider_subscription_id,
        status=_str(obj.get("status")) or "unknown",
        deleted=event.type == SUBSCRIPTION_DELETED,
        cancel_at_period_end=obj.get("cancel_at_period_end") is True,
        changed_at=at,
    )


_SubscriptionHandler = Callable[[StripeEvent, _SubscriptionFacts, datetime], SubscriptionEvent]

_SUBSCRIPTION_HANDLERS: dict[str, _SubscriptionHandler] = {
    INVOICE_PAID: _sub_invoice_paid,
    INVOICE_PAYMENT_FAILED: _sub_payment_failed,
    SUBSCRIPTION_UPDATED: _sub_status,
    SUBSCRIPTION_DELETED: _sub_status,
}
_SUBSCRIPTION_OUTCOMES = {
    SubscriptionInvoicePaidV1: Outcome.SUBSCRIPTION_INVOICE_PAID,
    SubscriptionPaymentFailedV1: Outcome.SUBSCRIPTION_PAYMENT_FAILED,
    SubscriptionStatusV1: Outcome.SUBSCRIPTION_STATUS,
}
SUBSCRIPTION_TYPES = frozenset(_SUBSCRIPTION_HANDLERS)
HANDLED_TYPES = PAYMENT_TYPES | REFUND_TYPES | SUBSCRIPTION_TYPES


# --- saved payment methods ------------------------------------------------------------------

SAVED_METHOD_TYPES = frozenset({SETUP_SUCCEEDED, PM_ATTACHED, PM_DETACHED, CUSTOMER_UPDATED})


def _on_saved_method(event: StripeEvent, at: datetime) -> Normalized:
    """A customer's saved methods changed: only display fields travel (brand, last 4, expiry).
    Checkout knows which customers are its users; others' are ignored there."""
    obj = event.obj
    change: Literal["attached", "detached", "default_changed", "setup_succeeded"]
    pm: dict[str, Any] = {}
    if event.type == CUSTOMER_UPDATED:
        change = "default_changed"
        settings = obj.get("invoice_settings")
        default = settings.get("default_payment_method") if isinstance(settings, dict) else None
        customer, method = _str(obj.get("id")), _id_of(default)
        if method is None:
            return Normalized(
                event.id, event.type, Outcome.UNHANDLED_TYPE, detail="no default payment method"
            )
    elif event.type == SETUP_SUCCEEDED:
        change = "setup_succeeded"
        customer, method = _id_of(obj.get("customer")), _id_of(obj.get("payment_method"))
        if isinstance(obj.get("payment_method"), dict):
            pm = obj["payment_method"]
    else:
        change = "attached" if event.type == PM_ATTACHED else "detached"
        customer, method, pm = _id_of(obj.get("customer")), _str(obj.get("id")), obj
        if customer is None and event.previous is not None:
            # A detached method names no customer any more; the event says which it had.
            customer = _id_of(event.previous.get("customer"))
    if method is None:
        return Normalized(
            event.id, event.type, Outcome.INVALID_METADATA, detail="no payment method id"
        )
    card = pm.get("card") if isinstance(pm.get("card"), dict) else {}
    assert isinstance(card, dict)
    last4 = _str(card.get("last4"))
    month, year = _as_int(card.get("exp_month")), _as_int(card.get("exp_year"))
    try:
        data = PaymentMethodChangedV1(
            provider_event_id=event.id,
            change=change,
            customer_id=customer,
            payment_method_id=method,
            type=_str(pm.get("type")),
            brand=_str(card.get("brand")),
            last4=last4 if last4 is not None and len(last4) <= 4 else None,
            exp_month=month if month is not None and 1 <= month <= 12 else None,
            exp_year=year if year is not None and 2000 <= year <= 9999 else None,
            changed_at=at,
        )
    except ValidationError as exc:
        return Normalized(
            event.id, event.type, Outcome.INVALID_METADATA, detail=f"event model refused: {exc}"
        )
    out = OutgoingEvent(
        data,
        source=SOURCE,
        id=deterministic_id(PROVIDER, event.id, "payment_method"),
        time=at,
        subject=customer or method,
    )
    return Normalized(event.id, event.type, Outcome.PAYMENT_METHOD_CHANGED, events=(out,))


def _on_subscription(event: StripeEvent, handler: _SubscriptionHandler, at: datetime) -> Normalized:
    user_id: str | None = None
    try:
        facts = _subscription_facts(event)
        user_id = facts.user_id
        data = handler(event, facts, at)
    except _NotOurs:
        return Normalized(
            event.id, event.type, Outcome.NOT_OURS, detail="no paystream subscription metadata"
        )
    except _Invalid as exc:
        return Normalized(
            event.id,
            event.type,
            Outcome.INVALID_METADATA,
            user_id=exc.user_id or user_id,
            detail=exc.detail,
        )
    except ValidationError as exc:
        return Normalized(
            event.id,
            event.type,
            Outcome.INVALID_METADATA,
            user_id=user_id,
            detail=f"event model refused: {exc}",
        )
    out = OutgoingEvent(
        data,
        source=SOURCE,
        id=deterministic_id(PROVIDER, event.id, "subscription"),
        time=at,
        subject=facts.subscription_id,
    )
    return Normalized(
        event.id, event.type, _SUBSCRIPTION_OUTCOMES[type(data)], events=(out,), user_id=user_id
    )


# --- helpers --------------------------------------------------------------------------------


def _succeeded(
    event: StripeEvent,
    facts: _OrderFacts,
    at: datetime,
    *,
    amount: int,
    currency: str,
    payment_id: str | None,
    session_id: str | None,
) -> Normalized:
    payment = PaymentSucceededV1(
        order_id=facts.order_id,
        user_id=facts.user_id,
        package_id=facts.package_id,
        credits=facts.credits,
        amount_minor=amount,
        currency=currency,
        provider=PROVIDER,
        provider_event_id=event.id,
        provider_payment_id=payment_id,
        provider_session_id=session_id,
        paid_at=at,
    )
    return Normalized(
        event.id,
        event.type,
        Outcome.PAYMENT_SUCCEEDED,
        events=(_payment_event(event, payment, at),),
        user_id=facts.user_id,
        order_id=facts.order_id,
    )


def _failed(
    event: StripeEvent,
    facts: _OrderFacts,
    at: datetime,
    *,
    reason: str,
    payment_id: str | None,
    session_id: str | None,
) -> Normalized:
    payment = PaymentFailedV1(
        order_id=facts.order_id,
        user_id=facts.user_id,
        provider=PROVIDER,
        provider_event_id=event.id,
        provider_payment_id=payment_id,
        provider_session_id=session_id,
        reason=reason,
        failed_at=at,
    )
    return Normalized(
        event.id,
        event.type,
        Outcome.PAYMENT_FAILED,
        events=(_payment_event(event, payment, at),),
        user_id=facts.user_id,
        order_id=facts.order_id,
    )


def _payment_event(event: StripeEvent, payment: PaymentEvent, at: datetime) -> OutgoingEvent:
    return OutgoingEvent(
        payment,
        source=SOURCE,
        id=deterministic_id(PROVIDER, event.id, "payment"),
        time=at,
        subject=payment.order_id,
    )


def _order_facts(obj: dict[str, Any]) -> _OrderFacts:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or ("order_id" not in metadata and "user_id" not in metadata):
        raise _NotOurs
    user_id = _nonempty(metadata.get("user_id"))
    order_id = _nonempty(metadata.get("order_id"))
    if user_id is None:
        raise _Invalid("metadata.user_id is missing or not a string", order_id=order_id)
    if order_id is None:
        raise _Invalid("metadata.order_id is missing or not a string", user_id=user_id)
    credits = _credits(metadata.get("credits"))
    if credits is None:
        raise _Invalid(
            f"metadata.credits is not a non-negative integer: {metadata.get('credits')!r}",
            user_id=user_id,
            order_id=order_id,
        )
    package_id = metadata.get("package_id")
    if package_id is not None and not isinstance(package_id, str):
        raise _Invalid("metadata.package_id is not a string", user_id=user_id, order_id=order_id)
    return _OrderFacts(order_id, user_id, credits, package_id or None)


def _amount(obj: dict[str, Any], fields: tuple[str, ...], facts: _OrderFacts) -> tuple[int, str]:
    amount = next((v for f in fields if (v := _as_int(obj.get(f))) is not None), None)
    if amount is None or not 0 <= amount <= MAX_AMOUNT_MINOR:
        # An amount above what any event can carry is no payment of ours but an edited or
        # forged one: held for an operator, answered 200 so Stripe stops retrying.
        raise _Invalid(
            f"no valid amount in {' / '.join(fields)} (0..{MAX_AMOUNT_MINOR})",
            user_id=facts.user_id,
            order_id=facts.order_id,
        )
    currency = obj.get("currency")
    # Stripe sends lowercase ISO codes; an amount we cannot represent as Money is not
    # published (it would poison every consumer) but stays in webhooks.raw for reprocessing.
    code = currency.upper() if isinstance(currency, str) else None
    if code is None or code not in CURRENCY_EXPONENTS:
        raise _Invalid(
            f"unsupported currency {currency!r}", user_id=facts.user_id, order_id=facts.order_id
        )
    return amount, code


def _credits(value: object) -> int | None:
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or len(value) > _MAX_CREDITS_DIGITS:
            return None
        return int(value)
    n = _as_int(value)
    return n if n is not None and 0 <= n < 10**_MAX_CREDITS_DIGITS else None


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _nonempty(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _id_of(value: object) -> str | None:
    """An expandable field: either the id string or the expanded object."""
    if isinstance(value, dict):
        return _str(value.get("id"))
    return _str(value)


def _event_time(event: StripeEvent, received_at: datetime) -> datetime:
    if event.created is not None and event.created > 0:
        try:
            return datetime.fromtimestamp(event.created, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return received_at
