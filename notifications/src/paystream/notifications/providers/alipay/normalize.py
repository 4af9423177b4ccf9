"""A verified Alipay notification as paystream's payment and refund events (pure: no I/O, no
clock), and the parsing of its form.

The same function runs on the live request and over `webhooks.raw` (`normalize_raw`), so
everything comes from the notification itself. What becomes what: the notifications README.

Envelope ids: a payment `payment_event_id("payment", "alipay", trade_no)`, ONE per trade
(Alipay sends TRADE_SUCCESS, later TRADE_FINISHED and refund notifications about the same trade;
checkout's `alipay.trade.query` sync gives the same id); a failure
`payment_event_id("payment.failed", "alipay", trade_no)`; a refund
`refund_event_id("succeeded", "alipay", out_biz_no)`, the id checkout uses when
alipay.trade.refund answers, so the refund is applied once whichever source comes first. A
refund notification repeats its payment first (same id, dropped where known), so a refund never
overtakes its payment on the user's partition.

The refund amount: Alipay sends `refund_fee`, the CUMULATIVE amount refunded on the trade, not
what this refund returned. So a refund notification is published as a report
(`RefundReportedV1`, `refunded_total_minor`, envelope id `refund_event_id("reported", ...)`),
which ledger and invoicing ignore; checkout, which knows each of its refunds' own amounts,
announces the exact `RefundSucceededV1` (whichever of its announcement and this report comes
first, the amount is the refund's own).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from pydantic import ValidationError

from paystream.notifications.errors import MalformedPayload
from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.outgoing import OutgoingEvent
from paystream.shared.events import (
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundReportedV1,
    WebhookReceivedV1,
    payment_event_id,
    refund_event_id,
)
from paystream.shared.money import Money
from paystream.shared.providers import alipay as ali

PROVIDER = "alipay"
SOURCE = "paystream/webhook-ingest/alipay"
CONTENT_TYPE = "application/x-www-form-urlencoded"
_REFUND_FIELDS = ("out_biz_no", "refund_fee", "gmt_refund")


def parse_form(body: bytes | str) -> dict[str, str]:
    """A notification body (application/x-www-form-urlencoded, UTF-8) as a dict; a repeated or
    empty body is refused: there must be exactly one value per name to know what was signed."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise MalformedPayload("body is not UTF-8") from None
    if not text.strip():
        raise MalformedPayload("empty body")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise MalformedPayload("body is not form-encoded") from None
    out: dict[str, str] = {}
    for k, v in pairs:
        if k in out:
            raise MalformedPayload(f"parameter {k!r} is repeated")
        out[k] = v
    return out


def notification_id(params: Mapping[str, str]) -> str:
    """The notification's id (`notify_id`, kept by Alipay's retries); MalformedPayload if
    a verified notification lacks what every notification has."""
    for name in ("notify_id", "trade_no", "out_trade_no", "trade_status"):
        if not params.get(name):
            raise MalformedPayload(f"the notification has no {name}")
    return params["notify_id"]


def event_type(params: Mapping[str, str]) -> str:
    """What webhooks.raw records as the provider's event type."""
    kind = "refund" if is_refund(params) else "trade"
    return f"{kind}.{params.get('trade_status') or 'unknown'}"


def is_refund(params: Mapping[str, str]) -> bool:
    return any(params.get(f) for f in _REFUND_FIELDS)


class _Invalid(Exception):
    pass


def normalize(params: Mapping[str, str], *, received_at: datetime) -> Normalized:
    """The payment events a verified notification means (see the module docstring)."""
    notify_id = notification_id(params)
    etype = event_type(params)
    status = params["trade_status"]
    passback = params.get("passback_params")
    if not passback:
        return Normalized(
            notify_id, etype, Outcome.NOT_OURS, detail="no passback_params: not a paystream order"
        )
    try:
        facts = ali.decode_passback(passback)
    except ValueError as exc:
        return Normalized(notify_id, etype, Outcome.INVALID_METADATA, detail=str(exc))

    def result(
        outcome: Outcome, events: tuple[OutgoingEvent, ...] = (), detail: str | None = None
    ) -> Normalized:
        return Normalized(notify_id, etype, outcome, events, facts.user_id, facts.order_id, detail)

    try:
        if is_refund(params):
            return result(Outcome.REFUND_SUCCEEDED, _refund(params, facts, received_at))
        if status in (ali.TRADE_SUCCESS, ali.TRADE_FINISHED):
            return result(Outcome.PAYMENT_SUCCEEDED, (_payment(params, facts, received_at),))
        if status == ali.TRADE_CLOSED:
            if params.get("gmt_payment"):
                # A paid trade closed by a full refund whose notification lacks the refund
                # details: not a failed payment, and no amount to publish. An operator looks.
                raise _Invalid("TRADE_CLOSED after payment without refund details")
            return result(Outcome.PAYMENT_FAILED, (_failure(params, facts, received_at),))
        if status == ali.WAIT_BUYER_PAY:
            return result(Outcome.AWAITING_PAYMENT)
        return result(Outcome.UNHANDLED_TYPE, detail=f"trade_status {status}")
    except _Invalid as exc:
        return result(Outcome.INVALID_METADATA, detail=str(exc))
    except ValidationError as exc:
        # Stays in webhooks.raw and is reported rather than answered with a 500 that would make
        # Alipay retry a notification that can never succeed.
        return result(Outcome.INVALID_METADATA, detail=f"event model refused: {exc}")


def normalize_raw(raw: WebhookReceivedV1) -> Normalized:
    """What a `webhooks.raw` record means: the live path and reprocessing both run this.
    MalformedPayload if the record is not an Alipay notification."""
    if raw.provider != PROVIDER:
        raise MalformedPayload(f"a {raw.provider} record, not an Alipay notification")
    return normalize(parse_form(raw.body), received_at=raw.received_at)


# --- per outcome ----------------------------------------------------------------------------


def _payment(
    params: Mapping[str, str], facts: ali.OrderFacts, received_at: datetime
) -> OutgoingEvent:
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
    return OutgoingEvent(
        event,
        source=SOURCE,
        id=payment_event_id("payment", PROVIDER, params["trade_no"]),
        time=at,
        subject=facts.order_id,
    )


def _failure(
    params: Mapping[str, str], facts: ali.OrderFacts, received_at: datetime
) -> OutgoingEvent:
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
    return OutgoingEvent(
        event,
        source=SOURCE,
        id=payment_event_id("payment.failed", PROVIDER, params["trade_no"]),
        time=at,
        subject=facts.order_id,
    )


def _refund(
    params: Mapping[str, str], facts: ali.OrderFacts, received_at: datetime
) -> tuple[OutgoingEvent, ...]:
    out_biz_no = params.get("out_biz_no")
    if not out_biz_no:
        raise _Invalid("a refund notification without out_biz_no")
    # Cumulative (see the module docstring): a report, never an amount to apply.
    total = _amount(params, "refund_fee")
    if not total.is_positive():
        raise _Invalid("refund_fee is zero")
    at = _time(params, ("gmt_refund", "notify_time"), received_at)
    refund = RefundReportedV1(
        order_id=facts.order_id,
        user_id=facts.user_id,
        provider=PROVIDER,
        provider_refund_id=out_biz_no,
        provider_payment_id=params["trade_no"],
        refunded_total_minor=total.minor,
        currency=total.currency,
        refunded_at=at,
    )
    events: list[OutgoingEvent] = []
    if params.get("gmt_payment"):
        events.append(_payment(params, facts, received_at))
    events.append(
        OutgoingEvent(
            refund,
            source=SOURCE,
            id=refund_event_id("reported", PROVIDER, out_biz_no),
            time=at,
            subject=facts.order_id,
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
