"""Turn a verified Alipay notification into paystream's payment events (pure: no I/O, no clock).

The same function runs on the live request and over `webhooks.raw` when an operator reprocesses
history (`normalize_alipay_received`), so everything is derived from the notification itself.

| notification                                        | result                                  |
| --------------------------------------------------- | --------------------------------------- |
| refund fields (out_biz_no / refund_fee / gmt_refund)| RefundSucceededV1 (+ the payment, below)|
| TRADE_SUCCESS, TRADE_FINISHED                       | PaymentSucceededV1                      |
| TRADE_CLOSED, never paid                            | PaymentFailedV1                         |
| TRADE_CLOSED, paid, no refund fields                | nothing (reported; see below)           |
| WAIT_BUYER_PAY, anything else                       | nothing (kept in webhooks.raw)          |
| no / unreadable passback_params                     | nothing (not ours / invalid, reported)  |

Envelope ids:
- a payment: `deterministic_id("alipay", trade_no, "payment")`, one per trade: Alipay sends
  TRADE_SUCCESS, later TRADE_FINISHED (the refund period ended) and refund notifications about
  the same trade, and they are all ONE payment (consumers' inboxes keep the first);
- a failure: `deterministic_id("alipay", trade_no, "payment.failed")`;
- a refund: `refund_event_id("succeeded", "alipay", out_biz_no)`, the id checkout uses when
  alipay.trade.refund answers, so the refund is applied once whichever source comes first.

A refund notification also carries the payment again (same envelope id as its first
announcement, so it is dropped where it is known): if the payment's own notification never got
through, the refund still follows its payment on the same key, never the other way round.

The refund amount. Alipay's refund notification carries `refund_fee`, the CUMULATIVE amount
refunded on the trade, not this refund's amount, and nothing else about the amount. We publish
`refund_fee` as the amount: exact for the first (or only) refund of a trade, which is the
overwhelmingly common case; for a later partial refund it overstates. Such a refund is made by
paystream (out_biz_no = our refund id = out_request_no) and checkout announces it with the exact
amount under the same envelope id as soon as alipay.trade.refund answers, before Alipay sends the
notification, so the notification's copy is normally dropped by the consumers' inboxes. It is
the fallback for a refund checkout never recorded (a crash between Alipay's answer and the
commit, a refund made in Alipay's console). `refund_id` is left empty: this module cannot know
whether out_biz_no is paystream's; consumers match refunds by `refund_key`.

TRADE_CLOSED with a `gmt_payment` and no refund fields is a paid trade closed by a full refund
whose notification lacks the refund details: it is not a failed payment, and there is no refund
amount to publish, so it is kept raw and reported for an operator.

Order facts come from `passback_params` (paystream.shared.providers.alipay.decode_passback).
Times are Alipay's Beijing times in UTC (gmt_payment, gmt_close, gmt_refund, else notify_time,
else the recorded reception time).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from pydantic import ValidationError

from paystream.shared.errors import BadRequest
from paystream.shared.events import (
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
    refund_event_id,
)
from paystream.shared.money import Money
from paystream.shared.providers import alipay as ali
from paystream.webhook_ingest.records import OutgoingEvent

PROVIDER = "alipay"
SOURCE = "paystream/webhook-ingest/alipay"
CONTENT_TYPE = "application/x-www-form-urlencoded"
_REFUND_FIELDS = ("out_biz_no", "refund_fee", "gmt_refund")


class MalformedNotification(BadRequest):
    code = "malformed_payload"


def parse_form(body: bytes | str) -> dict[str, str]:
    """A notification body (application/x-www-form-urlencoded, UTF-8) as a dict; a repeated or
    empty body is refused: there must be exactly one value per name to know what was signed."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise MalformedNotification("body is not UTF-8") from None
    if not text.strip():
        raise MalformedNotification("empty body")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise MalformedNotification("body is not form-encoded") from None
    out: dict[str, str] = {}
    for k, v in pairs:
        if k in out:
            raise MalformedNotification(f"parameter {k!r} is repeated")
        out[k] = v
    return out


def notification_id(params: Mapping[str, str]) -> str:
    """The notification's id (`notify_id`, kept by Alipay's retries); MalformedNotification if
    a verified notification lacks what every notification has."""
    for name in ("notify_id", "trade_no", "out_trade_no", "trade_status"):
        if not params.get(name):
            raise MalformedNotification(f"the notification has no {name}")
    return params["notify_id"]


def event_type(params: Mapping[str, str]) -> str:
    """What webhooks.raw records as the provider's event type."""
    kind = "refund" if is_refund(params) else "trade"
    return f"{kind}.{params.get('trade_status') or 'unknown'}"


def is_refund(params: Mapping[str, str]) -> bool:
    return any(params.get(f) for f in _REFUND_FIELDS)


class Outcome(enum.StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUND_SUCCEEDED = "refund_succeeded"
    AWAITING_PAYMENT = "awaiting_payment"
    UNHANDLED_STATUS = "unhandled_status"
    NOT_OURS = "not_ours"
    INVALID = "invalid"


IGNORED = frozenset({Outcome.UNHANDLED_STATUS, Outcome.NOT_OURS, Outcome.INVALID})


@dataclass(frozen=True, slots=True)
class AlipayNormalized:
    notify_id: str
    event_type: str
    outcome: Outcome
    # (Kafka key = user id, event) for payments.events, in publishing order.
    events: tuple[tuple[str, OutgoingEvent], ...] = ()
    user_id: str | None = None
    order_id: str | None = None
    detail: str | None = None

    @property
    def ignored(self) -> bool:
        return self.outcome in IGNORED


class _Invalid(Exception):
    pass


def normalize_alipay(params: Mapping[str, str], *, received_at: datetime) -> AlipayNormalized:
    """The payment events a verified notification means (see the module table)."""
    notify_id = notification_id(params)
    etype = event_type(params)
    status = params["trade_status"]
    passback = params.get("passback_params")
    if not passback:
        return AlipayNormalized(
            notify_id, etype, Outcome.NOT_OURS, detail="no passback_params: not a paystream order"
        )
    try:
        facts = ali.decode_passback(passback)
    except ValueError as exc:
        return AlipayNormalized(notify_id, etype, Outcome.INVALID, detail=str(exc))

    def result(
        outcome: Outcome,
        events: tuple[tuple[str, OutgoingEvent], ...] = (),
        detail: str | None = None,
    ) -> AlipayNormalized:
        return AlipayNormalized(
            notify_id, etype, outcome, events, facts.user_id, facts.order_id, detail
        )

    try:
        if is_refund(params):
            return result(Outcome.REFUND_SUCCEEDED, _refund(params, facts, received_at))
        if status in (ali.TRADE_SUCCESS, ali.TRADE_FINISHED):
            return result(Outcome.PAYMENT_SUCCEEDED, (_payment(params, facts, received_at),))
        if status == ali.TRADE_CLOSED:
            if params.get("gmt_payment"):
                raise _Invalid("TRADE_CLOSED after payment without refund details")
            return result(Outcome.PAYMENT_FAILED, (_failure(params, facts, received_at),))
        if status == ali.WAIT_BUYER_PAY:
            return result(Outcome.AWAITING_PAYMENT)
        return result(Outcome.UNHANDLED_STATUS, detail=f"trade_status {status}")
    except _Invalid as exc:
        return result(Outcome.INVALID, detail=str(exc))
    except ValidationError as exc:
        # Stays in webhooks.raw and is reported rather than answered with a 500 that would make
        # Alipay retry a notification that can never succeed.
        return result(Outcome.INVALID, detail=f"event model refused: {exc}")


def normalize_alipay_received(raw: WebhookReceivedV1) -> list[tuple[str, OutgoingEvent]]:
    """Rerun the normalization over a `webhooks.raw` record (reprocessing): the (Kafka key,
    event) pairs for payments.events, the same ids and bytes as when it was first received.
    MalformedNotification if the record is not an Alipay notification."""
    if raw.provider != PROVIDER:
        raise MalformedNotification(f"a {raw.provider} record, not an Alipay notification")
    normalized = normalize_alipay(parse_form(raw.body), received_at=raw.received_at)
    return list(normalized.events)


# --- per outcome ----------------------------------------------------------------------------


def _payment(
    params: Mapping[str, str], facts: ali.OrderFacts, received_at: datetime
) -> tuple[str, OutgoingEvent]:
    amount = _amount(params, "total_amount")
    at = _time(params, ("gmt_payment", "notify_time"), received_at)
    event = PaymentSucceededV1(
        order_id=facts.order_id,
        user_id=facts.user_id,
        package_id=facts.package_id,
        credits=facts.credits,
        amount_minor=amount.minor,
        currency=amount.currency,
        provider=PROVIDER,
        provider_event_id=params["notify_id"],
        provider_payment_id=params["trade_no"],
        provider_session_id=params["out_trade_no"],
        paid_at=at,
    )
    return facts.user_id, OutgoingEvent(
        event,
        source=SOURCE,
        id=deterministic_id(PROVIDER, params["trade_no"], "payment"),
        time=at,
        subject=facts.order_id,
    )


def _failure(
    params: Mapping[str, str], facts: ali.OrderFacts, received_at: datetime
) -> tuple[str, OutgoingEvent]:
    at = _time(params, ("gmt_close", "notify_time"), received_at)
    event = PaymentFailedV1(
        order_id=facts.order_id,
        user_id=facts.user_id,
        provider=PROVIDER,
        provider_event_id=params["notify_id"],
        provider_payment_id=params["trade_no"],
        provider_session_id=params["out_trade_no"],
        reason="TRADE_CLOSED: the trade was closed unpaid (timed out or closed by the merchant)",
        failed_at=at,
    )
    return facts.user_id, OutgoingEvent(
        event,
        source=SOURCE,
        id=deterministic_id(PROVIDER, params["trade_no"], "payment.failed"),
        time=at,
        subject=facts.order_id,
    )


def _refund(
    params: Mapping[str, str], facts: ali.OrderFacts, received_at: datetime
) -> tuple[tuple[str, OutgoingEvent], ...]:
    out_biz_no = params.get("out_biz_no")
    if not out_biz_no:
        raise _Invalid("a refund notification without out_biz_no")
    # Cumulative (see the module docstring).
    amount = _amount(params, "refund_fee")
    if not amount.is_positive():
        raise _Invalid("refund_fee is zero")
    at = _time(params, ("gmt_refund", "notify_time"), received_at)
    refund = RefundSucceededV1(
        order_id=facts.order_id,
        user_id=facts.user_id,
        refund_id=None,
        provider=PROVIDER,
        provider_refund_id=out_biz_no,
        provider_payment_id=params["trade_no"],
        amount_minor=amount.minor,
        currency=amount.currency,
        refunded_at=at,
    )
    events: list[tuple[str, OutgoingEvent]] = []
    if params.get("gmt_payment"):
        events.append(_payment(params, facts, received_at))
    events.append(
        (
            facts.user_id,
            OutgoingEvent(
                refund,
                source=SOURCE,
                id=refund_event_id("succeeded", PROVIDER, out_biz_no),
                time=at,
                subject=facts.order_id,
            ),
        )
    )
    return tuple(events)


def _amount(params: Mapping[str, str], name: str) -> Money:
    try:
        return ali.parse_amount(params.get(name) or "")
    except ValueError:
        raise _Invalid(f"{name} is not an amount: {params.get(name)!r}") from None


def _time(params: Mapping[str, str], names: tuple[str, ...], fallback: datetime) -> datetime:
    for name in names:
        value = params.get(name)
        if value:
            try:
                return ali.parse_time(value)
            except ValueError:
                continue
    return fallback.astimezone(UTC)
