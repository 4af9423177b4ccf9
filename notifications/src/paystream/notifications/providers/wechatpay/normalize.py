"""A verified, decrypted WeChat Pay notification as paystream's payment and refund events (pure:
no I/O, no clock).

Payments carry the order facts in `attach` (ours start with `ps1|`); a refund notification has
none: the order is its `out_trade_no`, and the user and our refund id come back in
`out_refund_no` (`<refund>*<user>`, see `paystream.shared.providers.wechatpay`). Envelope ids
come from WeChat Pay's facts: payments `payment_event_id("payment", "wechatpay", transaction_id)`
(failures `"payment.failed"`; checkout's order-query sync derives the same ids), refunds
`refund_event_id(kind, "wechatpay", out_refund_no)`, the id checkout uses when the refund API
already answered SUCCESS. What becomes what: the notifications README.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.outgoing import OutgoingEvent
from paystream.notifications.providers.wechatpay.raw import parse_raw_body
from paystream.shared.events import (
    MAX_AMOUNT_MINOR,
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    WebhookReceivedV1,
    payment_event_id,
    refund_event_id,
)
from paystream.shared.money import CURRENCY_EXPONENTS
from paystream.shared.providers.wechatpay import (
    ATTACH_VERSION,
    InvalidAttach,
    InvalidReference,
    Notification,
    decode_attach,
    decode_out_refund_no,
    order_id_from_out_trade_no,
    out_trade_no_for,
    parse_rfc3339,
)

PROVIDER: Final = "wechatpay"
SOURCE: Final = "paystream/webhook-ingest/wechatpay"

TRANSACTION_SUCCESS: Final = "TRANSACTION.SUCCESS"
REFUND_EVENTS: Final = {
    "REFUND.SUCCESS": "SUCCESS",
    "REFUND.ABNORMAL": "ABNORMAL",
    "REFUND.CLOSED": "CLOSED",
}
_FAILED_TRADE_STATES: Final = frozenset({"CLOSED", "REVOKED", "PAYERROR"})


class _Invalid(Exception):
    def __init__(self, detail: str, *, user_id: str | None = None, order_id: str | None = None):
        super().__init__(detail)
        self.detail, self.user_id, self.order_id = detail, user_id, order_id


def normalize(
    notification: Notification, resource: Mapping[str, Any], *, received_at: datetime
) -> Normalized:
    """Map a verified, decrypted notification to the payment or refund event it means."""
    n = notification
    try:
        if n.event_type.startswith("TRANSACTION."):
            return _transaction(n, resource, received_at)
        if n.event_type in REFUND_EVENTS:
            return _refund(n, resource, received_at)
    except _Invalid as exc:
        return Normalized(
            n.id,
            n.event_type,
            Outcome.INVALID_METADATA,
            user_id=exc.user_id,
            order_id=exc.order_id,
            detail=exc.detail,
        )
    except ValidationError as exc:
        # The checks below should leave nothing for the event model to refuse; if it still does,
        # the notification stays in webhooks.raw and is reported rather than retried forever.
        return Normalized(
            n.id, n.event_type, Outcome.INVALID_METADATA, detail=f"model refused: {exc}"
        )
    return Normalized(n.id, n.event_type, Outcome.UNHANDLED_TYPE, detail="unhandled event type")


def normalize_raw(raw: WebhookReceivedV1) -> Normalized:
    """What a `webhooks.raw` record means: the live path and reprocessing both run this (no key
    needed: the record holds the decrypted resource)."""
    stored = parse_raw_body(raw.body)
    return normalize(stored.notification, stored.resource, received_at=raw.received_at)


def _transaction(n: Notification, r: Mapping[str, Any], received_at: datetime) -> Normalized:
    attach = r.get("attach")
    if not isinstance(attach, str) or not attach.startswith(ATTACH_VERSION + "|"):
        return Normalized(
            n.id, n.event_type, Outcome.NOT_OURS, detail="attach is not a paystream order"
        )
    try:
        facts = decode_attach(attach)
    except InvalidAttach as exc:
        raise _Invalid(f"attach: {exc}") from None
    who = {"user_id": facts.user_id, "order_id": facts.order_id}
    out_trade_no = _str(r.get("out_trade_no"))
    if out_trade_no is None or out_trade_no != _out_trade_no_or_none(facts.order_id):
        raise _Invalid("out_trade_no does not name the order in attach", **who)
    transaction_id = _str(r.get("transaction_id"))
    state = _str(r.get("trade_state"))
    at = _time(r.get("success_time"), n, received_at)
    if state == "SUCCESS":
        if n.event_type != TRANSACTION_SUCCESS:
            raise _Invalid(f"trade_state SUCCESS in a {n.event_type} notification", **who)
        if transaction_id is None:
            raise _Invalid("a paid transaction without transaction_id", **who)
        amount, currency = _amount(r, **who)
        paid = PaymentSucceededV1(
            order_id=facts.order_id,
            user_id=facts.user_id,
            package_id=facts.package_id,
            credits=facts.credits,
            amount_minor=amount,
            currency=currency,
            provider=PROVIDER,
            provider_event_id=n.id,
            provider_payment_id=transaction_id,
            provider_session_id=out_trade_no,
            paid_at=at,
        )
        event = OutgoingEvent(
            paid,
            source=SOURCE,
            id=payment_event_id("payment", PROVIDER, transaction_id),
            time=at,
            subject=facts.order_id,
        )
        return _with(n, Outcome.PAYMENT_SUCCEEDED, event, who)
    if state in _FAILED_TRADE_STATES:
        desc = _str(r.get("trade_state_desc"))
        failed = PaymentFailedV1(
            order_id=facts.order_id,
            user_id=facts.user_id,
            provider=PROVIDER,
            provider_event_id=n.id,
            provider_payment_id=transaction_id,
            provider_session_id=out_trade_no,
            reason=f"{state}: {desc}" if desc else state,
            failed_at=at,
        )
        event = OutgoingEvent(
            failed,
            source=SOURCE,
            id=payment_event_id("payment.failed", PROVIDER, transaction_id or out_trade_no),
            time=at,
            subject=facts.order_id,
        )
        return _with(n, Outcome.PAYMENT_FAILED, event, who)
    # WeChat Pay notifies final states only: one that is not is noise (ignored).
    return Normalized(
        n.id,
        n.event_type,
        Outcome.AWAITING_PAYMENT,
        user_id=facts.user_id,
        order_id=facts.order_id,
        detail=f"trade_state is {state!r}",
        ignore=True,
    )


def _refund(n: Notification, r: Mapping[str, Any], received_at: datetime) -> Normalized:
    out_refund_no = _str(r.get("out_refund_no"))
    if out_refund_no is None:
        raise _Invalid("refund without out_refund_no")
    try:
        refund_id, user_id = decode_out_refund_no(out_refund_no)
    except InvalidReference as exc:
        return _dashboard_refund(n, r, out_refund_no, f"out_refund_no: {exc}", received_at)
    out_trade_no = _str(r.get("out_trade_no"))
    if out_trade_no is None:
        raise _Invalid("refund without out_trade_no", user_id=user_id)
    order_id = order_id_from_out_trade_no(out_trade_no)
    who = {"user_id": user_id, "order_id": order_id}
    status = _str(r.get("refund_status"))
    if status != REFUND_EVENTS[n.event_type]:
        raise _Invalid(f"refund_status {status!r} in a {n.event_type} notification", **who)
    fen, currency = _refund_amount(r, **who)
    if status == "SUCCESS":
        at = _time(r.get("success_time"), n, received_at)
        succeeded = RefundSucceededV1(
            order_id=order_id,
            user_id=user_id,
            refund_id=refund_id,
            provider=PROVIDER,
            provider_refund_id=out_refund_no,
            provider_payment_id=_str(r.get("transaction_id")),
            amount_minor=fen,
            currency=currency,
            refunded_at=at,
        )
        event = OutgoingEvent(
            succeeded,
            source=SOURCE,
            id=refund_event_id("succeeded", PROVIDER, out_refund_no),
            time=at,
            subject=order_id,
        )
        return _with(n, Outcome.REFUND_SUCCEEDED, event, who)
    at = _time(None, n, received_at)
    failed = RefundFailedV1(
        order_id=order_id,
        user_id=user_id,
        refund_id=refund_id,
        provider=PROVIDER,
        provider_refund_id=out_refund_no,
        amount_minor=fen,
        currency=currency,
        reason=f"{n.event_type}: the refund was not completed by WeChat Pay",
        failed_at=at,
    )
    event = OutgoingEvent(
        failed,
        source=SOURCE,
        id=refund_event_id("failed", PROVIDER, out_refund_no),
        time=at,
        subject=order_id,
    )
    return _with(n, Outcome.REFUND_FAILED, event, who)


def _refund_amount(r: Mapping[str, Any], **who: str) -> tuple[int, str]:
    amount = r.get("amount")
    fen = amount.get("refund") if isinstance(amount, dict) else None
    if not isinstance(fen, int) or isinstance(fen, bool) or not 0 < fen <= MAX_AMOUNT_MINOR:
        raise _Invalid(f"amount.refund is not an integer in 1..{MAX_AMOUNT_MINOR}", **who)
    # Refund amounts are in the payment's currency; WeChat Pay direct merchants settle in CNY.
    currency = amount.get("currency", "CNY") if isinstance(amount, dict) else "CNY"
    if currency not in CURRENCY_EXPONENTS:
        raise _Invalid(f"unsupported currency {currency!r}", **who)
    return fen, currency


def _dashboard_refund(
    n: Notification, r: Mapping[str, Any], out_refund_no: str, why: str, received_at: datetime
) -> Normalized:
    """A refund made in the merchant dashboard: money went back and no user can be named, but
    the trade can (`out_trade_no`, `transaction_id`). A succeeded one is reported with its own
    amount for checkout to match to its order (or list for an operator); anything else stays
    raw for an operator."""
    out_trade_no = _str(r.get("out_trade_no"))
    payment = _str(r.get("transaction_id"))
    if (
        n.event_type != "REFUND.SUCCESS"
        or _str(r.get("refund_status")) != "SUCCESS"
        or not (out_trade_no or payment)
    ):
        return Normalized(n.id, n.event_type, Outcome.REFUND_UNATTRIBUTED, detail=why)
    order_id = None if out_trade_no is None else order_id_from_out_trade_no(out_trade_no)
    fen, currency = _refund_amount(r, order_id=order_id or "")
    at = _time(r.get("success_time"), n, received_at)
    report = RefundReportedV1(
        order_id=order_id,
        provider=PROVIDER,
        provider_refund_id=out_refund_no,
        provider_payment_id=payment,
        amount_minor=fen,
        currency=currency,
        refunded_at=at,
    )
    event = OutgoingEvent(
        report,
        source=SOURCE,
        id=refund_event_id("reported", PROVIDER, out_refund_no),
        time=at,
        subject=order_id,
    )
    return Normalized(n.id, n.event_type, Outcome.REFUND_REPORTED, (event,), order_id=order_id)


def _with(
    n: Notification, outcome: Outcome, event: OutgoingEvent, who: dict[str, str]
) -> Normalized:
    return Normalized(
        n.id, n.event_type, outcome, (event,), user_id=who["user_id"], order_id=who["order_id"]
    )


def _amount(r: Mapping[str, Any], **who: str) -> tuple[int, str]:
    amount = r.get("amount")
    total = amount.get("total") if isinstance(amount, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or not 0 <= total <= MAX_AMOUNT_MINOR:
        raise _Invalid(f"amount.total is not an integer in 0..{MAX_AMOUNT_MINOR}", **who)
    currency = amount.get("currency", "CNY") if isinstance(amount, dict) else None
    if not isinstance(currency, str) or currency not in CURRENCY_EXPONENTS:
        raise _Invalid(f"unsupported currency {currency!r}", **who)
    return total, currency


def _out_trade_no_or_none(order_id: str) -> str | None:
    try:
        return out_trade_no_for(order_id)
    except InvalidReference:
        return None


def _time(value: object, n: Notification, received_at: datetime) -> datetime:
    return parse_rfc3339(value) or parse_rfc3339(n.create_time) or received_at


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
