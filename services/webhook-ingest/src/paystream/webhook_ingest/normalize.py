"""Turn a verified Stripe event into paystream's payment events (pure: no I/O, no clock).

The same function runs on the live request and, later, over `webhooks.raw` when an operator
reprocesses history, so everything it produces is derived from the event itself: envelope ids
are `deterministic_id("stripe", <event id>, "payment")`, times come from the event's `created`
(falling back to the recorded reception time), never from the clock.

| Stripe event type                          | object                | result                      |
| ------------------------------------------ | --------------------- | --------------------------- |
| checkout.session.completed, paid           | Checkout Session      | PaymentSucceededV1          |
| checkout.session.completed, unpaid         | Checkout Session      | none yet (async method)     |
| checkout.session.async_payment_succeeded   | Checkout Session      | PaymentSucceededV1          |
| checkout.session.async_payment_failed      | Checkout Session      | PaymentFailedV1             |
| payment_intent.succeeded                   | PaymentIntent         | PaymentSucceededV1          |
| payment_intent.payment_failed              | PaymentIntent         | PaymentFailedV1             |
| anything else                              | -                     | ignored                     |

Order facts ride in the object's `metadata` (Stripe metadata values are strings): `order_id`,
`user_id`, `credits`, `package_id`. Checkout puts them on the session and on
`payment_intent_data.metadata`, so both the session and the PaymentIntent carry them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from paystream.shared.errors import BadRequest
from paystream.shared.events import (
    Envelope,
    PaymentFailedV1,
    PaymentSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
)
from paystream.shared.money import CURRENCY_EXPONENTS
from paystream.webhook_ingest.records import OutgoingEvent

PROVIDER = "stripe"
SOURCE = "paystream/webhook-ingest/stripe"

CHECKOUT_COMPLETED = "checkout.session.completed"
CHECKOUT_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
CHECKOUT_ASYNC_FAILED = "checkout.session.async_payment_failed"
PI_SUCCEEDED = "payment_intent.succeeded"
PI_FAILED = "payment_intent.payment_failed"

_MAX_CREDITS_DIGITS = 18  # keeps credits inside a PostgreSQL bigint


class MalformedPayload(BadRequest):
    code = "malformed_payload"


@dataclass(frozen=True, slots=True)
class StripeEvent:
    """The parts of a Stripe event we read; `obj` is `data.object`."""

    id: str
    type: str
    created: int | None
    obj: dict[str, Any]


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
    return StripeEvent(event_id, event_type, _as_int(created), data["object"])


class Outcome(enum.StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    # Our order, but nothing to say yet (e.g. a bank transfer that settles later).
    AWAITING_PAYMENT = "awaiting_payment"
    UNHANDLED_TYPE = "unhandled_type"
    NOT_OURS = "not_ours"
    INVALID_METADATA = "invalid_metadata"


IGNORED = frozenset({Outcome.UNHANDLED_TYPE, Outcome.NOT_OURS, Outcome.INVALID_METADATA})


@dataclass(frozen=True, slots=True)
class Normalized:
    event_id: str
    event_type: str
    outcome: Outcome
    payment: PaymentSucceededV1 | PaymentFailedV1 | None = None
    user_id: str | None = None  # known whenever the metadata names a user, even if invalid
    order_id: str | None = None
    detail: str | None = None  # why no payment event was produced

    @property
    def ignored(self) -> bool:
        return self.outcome in IGNORED

    def payment_event(self) -> OutgoingEvent | None:
        """The payment event with its envelope attributes, all derived from the Stripe event."""
        p = self.payment
        if p is None:
            return None
        at = p.paid_at if isinstance(p, PaymentSucceededV1) else p.failed_at
        return OutgoingEvent(
            p,
            source=SOURCE,
            id=deterministic_id(PROVIDER, self.event_id, "payment"),
            time=at,
            subject=p.order_id,
        )

    def payment_envelope(self) -> Envelope | None:
        """The payment event in its envelope; the same bytes every time it is recomputed."""
        event = self.payment_event()
        return None if event is None else event.envelope()


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
    """Map a Stripe event to the payment event it means (if any); see the module table."""
    handler = _HANDLERS.get(event.type)
    if handler is None:
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


def normalize_received(raw: WebhookReceivedV1) -> Normalized:
    """Rerun the normalization over a `webhooks.raw` record (reprocessing)."""
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


_Handler = Callable[[StripeEvent, _OrderFacts, datetime], Normalized]

_HANDLERS: dict[str, _Handler] = {
    CHECKOUT_COMPLETED: _checkout_paid,
    CHECKOUT_ASYNC_SUCCEEDED: _checkout_paid,
    CHECKOUT_ASYNC_FAILED: _checkout_failed,
    PI_SUCCEEDED: _pi_succeeded,
    PI_FAILED: _pi_failed,
}

HANDLED_TYPES = frozenset(_HANDLERS)


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
        payment=payment,
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
        payment=payment,
        user_id=facts.user_id,
        order_id=facts.order_id,
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
    if amount is None or amount < 0:
        raise _Invalid(
            f"no valid amount in {' / '.join(fields)}",
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
