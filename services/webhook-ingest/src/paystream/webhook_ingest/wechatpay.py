"""`POST /webhooks/wechatpay`: WeChat Pay API v3 notifications, verified, normalized, published.

What happens to a notification, in order (any refusal publishes NOTHING and answers non-2xx, so
WeChat Pay retries it; see `paystream.shared.providers.wechatpay` for the scheme):

1. the `Wechatpay-*` headers: the serial must be a platform public key id we were configured
   with, the RSA-SHA256 signature over `timestamp\\nnonce\\nbody\\n` must verify with it, and the
   timestamp must be within five minutes of our clock (400 `unknown_serial`,
   `signature_missing`, `signature_invalid`, `timestamp_outside_tolerance`);
2. the envelope must be a v3 notification with an AEAD_AES_256_GCM resource (400
   `malformed_payload`), which must decrypt with our APIv3 key (400 `resource_undecryptable`)
   into a JSON object for our merchant id (400 `mchid_mismatch`);
3. the record for `webhooks.raw` and the normalized event (if any) for `payments.events` are
   published and acknowledged (acks=all; 503 `kafka_unavailable` otherwise);
4. only then: 200 `{"code": "SUCCESS", "message": "成功"}`.

Failures answer WeChat Pay's documented shape, `{"code": "FAIL", "message": "..."}`, with our
typed error next to it (`"error": {"code", "message"}`, which WeChat Pay ignores). Without the
WeChat Pay settings the route answers 503 `provider_not_configured`.

Normalization (pure; `normalize_wechatpay_received` reruns it over `webhooks.raw`):

| event_type            | resource                       | result                              |
| --------------------- | ------------------------------ | ----------------------------------- |
| TRANSACTION.SUCCESS   | trade_state SUCCESS            | PaymentSucceededV1                  |
| TRANSACTION.*         | trade_state CLOSED / REVOKED / | PaymentFailedV1                     |
|                       | PAYERROR                       |                                     |
| REFUND.SUCCESS        | refund_status SUCCESS          | RefundSucceededV1                   |
| REFUND.ABNORMAL/CLOSED| refund_status ABNORMAL/CLOSED  | RefundFailedV1                      |
| anything else         | -                              | acknowledged, kept in webhooks.raw  |

Payments carry the order facts in `attach` (ours start with `ps1|`; one without is not ours). A
refund notification has no attach: the order is its `out_trade_no` and the user (the Kafka key)
and our refund id come back in `out_refund_no`, which checkout builds as `<refund>*<user>`. A
refund whose out_refund_no is not ours (made in the merchant dashboard) cannot be attributed to
a user: it is kept in webhooks.raw and logged as an error for an operator.

Envelope ids are derived from WeChat Pay's facts, so a notification delivered again becomes the
same events: payments `deterministic_id("wechatpay", transaction_id, "payment")` (failures
`..., "payment.failed"`), refunds `refund_event_id(kind, "wechatpay", out_refund_no)` (the id
checkout uses when the refund API already answered SUCCESS), the raw record
`deterministic_id("wechatpay", <notification id>, "raw")`.

The raw record keeps the DECRYPTED resource: `WebhookReceivedV1.body` is the JSON document
`{"headers": {Wechatpay-Timestamp, -Nonce, -Signature, -Serial}, "body": <the notification
body verbatim>, "resource": <the decrypted resource verbatim>}` with content type
`RAW_CONTENT_TYPE`. Reprocessing then needs no key (the APIv3 key can be rotated without making
history unreadable), and the verbatim body and its headers still let anyone holding the platform
public key re-verify that WeChat Pay sent it. Kafka is internal; the resource holds no more than
a Stripe event does (an openid, amounts).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import structlog
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from paystream.shared.errors import BadRequest, PaystreamError, ServiceUnavailable
from paystream.shared.events import (
    EventData,
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
    refund_event_id,
)
from paystream.shared.money import CURRENCY_EXPONENTS
from paystream.shared.providers.wechatpay import (
    ATTACH_VERSION,
    DecryptionFailed,
    InvalidAttach,
    InvalidReference,
    MalformedNotification,
    Notification,
    PlatformVerifier,
    SignatureRefused,
    SignedHeaders,
    decode_attach,
    decode_out_refund_no,
    decrypt_resource,
    order_id_from_out_trade_no,
    out_trade_no_for,
    parse_notification,
    parse_rfc3339,
)
from paystream.webhook_ingest.publish import AckedPublisher, KafkaUnavailable, read_limited_body
from paystream.webhook_ingest.records import OutgoingEvent
from paystream.webhook_ingest.service import count
from paystream.webhook_ingest.settings import WebhookIngestSettings

log = structlog.get_logger(__name__)

PROVIDER: Final = "wechatpay"
SOURCE: Final = "paystream/webhook-ingest/wechatpay"
WECHATPAY_PATH: Final = "/webhooks/wechatpay"
RAW_CONTENT_TYPE: Final = "application/vnd.paystream.wechatpay-notification+json"

TRANSACTION_SUCCESS: Final = "TRANSACTION.SUCCESS"
REFUND_EVENTS: Final = {
    "REFUND.SUCCESS": "SUCCESS",
    "REFUND.ABNORMAL": "ABNORMAL",
    "REFUND.CLOSED": "CLOSED",
}
_FAILED_TRADE_STATES: Final = frozenset({"CLOSED", "REVOKED", "PAYERROR"})
_MAX_CREDITS: Final = 10**18


# --- refusals -------------------------------------------------------------------------------


class WeChatPayRefused(BadRequest):
    """Refused input: answered 400 and nothing published."""

    code = "signature_invalid"


class SignatureMissingRefused(WeChatPayRefused):
    code = "signature_missing"


class UnknownSerialRefused(WeChatPayRefused):
    code = "unknown_serial"


class StaleTimestampRefused(WeChatPayRefused):
    code = "timestamp_outside_tolerance"


class UndecryptableRefused(WeChatPayRefused):
    code = "resource_undecryptable"


class MchidMismatch(WeChatPayRefused):
    code = "mchid_mismatch"


class MalformedPayload(WeChatPayRefused):
    code = "malformed_payload"


class ProviderNotConfigured(ServiceUnavailable):
    code = "provider_not_configured"


_REFUSALS: Final[dict[str, type[WeChatPayRefused]]] = {
    cls.code: cls
    for cls in (
        WeChatPayRefused,
        SignatureMissingRefused,
        UnknownSerialRefused,
        StaleTimestampRefused,
        UndecryptableRefused,
    )
}


def _refusal(exc: SignatureRefused | DecryptionFailed) -> WeChatPayRefused:
    return _REFUSALS.get(exc.code, WeChatPayRefused)(str(exc))


# --- normalization (pure) -------------------------------------------------------------------


class WeChatPayOutcome(enum.StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    AWAITING_PAYMENT = "awaiting_payment"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    UNHANDLED_TYPE = "unhandled_type"
    NOT_OURS = "not_ours"
    INVALID_METADATA = "invalid_metadata"


IGNORED: Final = frozenset(
    {
        WeChatPayOutcome.UNHANDLED_TYPE,
        WeChatPayOutcome.NOT_OURS,
        WeChatPayOutcome.INVALID_METADATA,
        WeChatPayOutcome.AWAITING_PAYMENT,
    }
)


@dataclass(frozen=True, slots=True)
class WeChatPayNormalized:
    """What a notification means: at most one event for `payments.events`, with its envelope
    attributes (all derived from the notification, never from the clock)."""

    notification_id: str
    event_type: str
    outcome: WeChatPayOutcome
    event: OutgoingEvent | None = None
    user_id: str | None = None
    order_id: str | None = None
    detail: str | None = None

    @property
    def ignored(self) -> bool:
        return self.outcome in IGNORED

    @property
    def data(self) -> EventData | None:
        return None if self.event is None else self.event.data


class _Invalid(Exception):
    def __init__(self, detail: str, *, user_id: str | None = None, order_id: str | None = None):
        super().__init__(detail)
        self.detail, self.user_id, self.order_id = detail, user_id, order_id


def normalize_wechatpay(
    notification: Notification, resource: Mapping[str, Any], *, received_at: datetime
) -> WeChatPayNormalized:
    """Map a verified, decrypted notification to the payment or refund event it means."""
    n = notification
    try:
        if n.event_type.startswith("TRANSACTION."):
            return _transaction(n, resource, received_at)
        if n.event_type in REFUND_EVENTS:
            return _refund(n, resource, received_at)
    except _Invalid as exc:
        return WeChatPayNormalized(
            n.id,
            n.event_type,
            WeChatPayOutcome.INVALID_METADATA,
            user_id=exc.user_id,
            order_id=exc.order_id,
            detail=exc.detail,
        )
    except ValidationError as exc:
        # The checks below should leave nothing for the event model to refuse; if it still does,
        # the notification stays in webhooks.raw and is reported rather than retried forever.
        return WeChatPayNormalized(
            n.id, n.event_type, WeChatPayOutcome.INVALID_METADATA, detail=f"model refused: {exc}"
        )
    return WeChatPayNormalized(
        n.id, n.event_type, WeChatPayOutcome.UNHANDLED_TYPE, detail="unhandled event type"
    )


def normalize_wechatpay_received(raw: WebhookReceivedV1) -> WeChatPayNormalized:
    """Rerun the normalization over a `webhooks.raw` record (reprocessing; no key needed)."""
    stored = parse_raw_body(raw.body)
    return normalize_wechatpay(stored.notification, stored.resource, received_at=raw.received_at)


def _transaction(
    n: Notification, r: Mapping[str, Any], received_at: datetime
) -> WeChatPayNormalized:
    attach = r.get("attach")
    if not isinstance(attach, str) or not attach.startswith(ATTACH_VERSION + "|"):
        return WeChatPayNormalized(
            n.id, n.event_type, WeChatPayOutcome.NOT_OURS, detail="attach is not a paystream order"
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
            id=deterministic_id(PROVIDER, transaction_id, "payment"),
            time=at,
            subject=facts.order_id,
        )
        return WeChatPayNormalized(
            n.id, n.event_type, WeChatPayOutcome.PAYMENT_SUCCEEDED, event, **who
        )
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
            id=deterministic_id(PROVIDER, transaction_id or out_trade_no, "payment.failed"),
            time=at,
            subject=facts.order_id,
        )
        return WeChatPayNormalized(
            n.id, n.event_type, WeChatPayOutcome.PAYMENT_FAILED, event, **who
        )
    return WeChatPayNormalized(
        n.id,
        n.event_type,
        WeChatPayOutcome.AWAITING_PAYMENT,
        user_id=facts.user_id,
        order_id=facts.order_id,
        detail=f"trade_state is {state!r}",
    )


def _refund(n: Notification, r: Mapping[str, Any], received_at: datetime) -> WeChatPayNormalized:
    out_refund_no = _str(r.get("out_refund_no"))
    if out_refund_no is None:
        raise _Invalid("refund without out_refund_no")
    try:
        refund_id, user_id = decode_out_refund_no(out_refund_no)
    except InvalidReference as exc:
        return WeChatPayNormalized(
            n.id, n.event_type, WeChatPayOutcome.NOT_OURS, detail=f"out_refund_no: {exc}"
        )
    out_trade_no = _str(r.get("out_trade_no"))
    if out_trade_no is None:
        raise _Invalid("refund without out_trade_no", user_id=user_id)
    order_id = order_id_from_out_trade_no(out_trade_no)
    who = {"user_id": user_id, "order_id": order_id}
    status = _str(r.get("refund_status"))
    if status != REFUND_EVENTS[n.event_type]:
        raise _Invalid(f"refund_status {status!r} in a {n.event_type} notification", **who)
    amount = r.get("amount")
    fen = amount.get("refund") if isinstance(amount, dict) else None
    if not isinstance(fen, int) or isinstance(fen, bool) or fen <= 0:
        raise _Invalid("amount.refund is not a positive integer", **who)
    # Refund amounts are in the payment's currency; WeChat Pay direct merchants settle in CNY.
    currency = amount.get("currency", "CNY") if isinstance(amount, dict) else "CNY"
    if currency not in CURRENCY_EXPONENTS:
        raise _Invalid(f"unsupported currency {currency!r}", **who)
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
        return WeChatPayNormalized(
            n.id, n.event_type, WeChatPayOutcome.REFUND_SUCCEEDED, event, **who
        )
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
    return WeChatPayNormalized(n.id, n.event_type, WeChatPayOutcome.REFUND_FAILED, event, **who)


def _amount(r: Mapping[str, Any], **who: str) -> tuple[int, str]:
    amount = r.get("amount")
    total = amount.get("total") if isinstance(amount, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or not 0 <= total < _MAX_CREDITS:
        raise _Invalid("amount.total is not a non-negative integer", **who)
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


# --- the raw record -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredNotification:
    headers: dict[str, str]
    body: str
    notification: Notification
    resource: dict[str, Any]


def raw_body(signed: SignedHeaders, body: str, resource_plaintext: str) -> str:
    return orjson.dumps(
        {"headers": signed.as_dict(), "body": body, "resource": resource_plaintext}
    ).decode()


def parse_raw_body(stored: str) -> StoredNotification:
    """Read a `webhooks.raw` body written by `raw_body` (MalformedNotification otherwise)."""
    try:
        doc = orjson.loads(stored)
    except orjson.JSONDecodeError:
        raise MalformedNotification("raw record body is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedNotification("raw record body is not a JSON object")
    headers, body, plaintext = doc.get("headers"), doc.get("body"), doc.get("resource")
    if not isinstance(body, str) or not isinstance(plaintext, str):
        raise MalformedNotification("raw record lacks the body or the decrypted resource")
    resource = _resource_doc(plaintext.encode())
    return StoredNotification(
        {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
        body,
        parse_notification(body),
        resource,
    )


def _resource_doc(plaintext: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(plaintext)
    except orjson.JSONDecodeError:
        raise MalformedNotification("the decrypted resource is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedNotification("the decrypted resource is not a JSON object")
    return doc


# --- the service ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeChatPayIngestResult:
    notification_id: str
    event_type: str
    published: tuple[str, ...]
    normalized: WeChatPayNormalized


class WeChatPayWebhookService:
    def __init__(
        self,
        *,
        producer: AIOKafkaProducer,
        verifier: PlatformVerifier,
        apiv3_key: str,
        mchid: str,
        raw_topic: str,
        payments_topic: str,
        ack_timeout_s: float,
    ) -> None:
        if len(apiv3_key.encode()) != 32:
            raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
        self._publisher = AckedPublisher(producer, ack_timeout_s=ack_timeout_s)
        self._verifier = verifier
        self._apiv3_key = apiv3_key
        self._mchid = mchid
        self._raw_topic = raw_topic
        self._payments_topic = payments_topic

    async def ingest(self, body: bytes, headers: Mapping[str, str]) -> WeChatPayIngestResult:
        """Verify, decrypt and publish one notification; raises WeChatPayRefused or
        KafkaUnavailable, and in each of those cases nothing was acknowledged."""
        now = time.time()
        try:
            signed = self._verifier.verify(headers, body, now=now)
            notification = parse_notification(body)
            plaintext = decrypt_resource(notification.resource, self._apiv3_key)
            resource = _resource_doc(plaintext)
            text = body.decode("utf-8")  # parse_notification succeeded: valid UTF-8
            resource_text = plaintext.decode("utf-8")
        except (SignatureRefused, DecryptionFailed) as exc:
            count(f"rejected_{exc.code}", provider=PROVIDER)
            log.warning("wechatpay_notification_refused", code=exc.code, reason=str(exc))
            raise _refusal(exc) from None
        except (MalformedNotification, UnicodeDecodeError) as exc:
            count("malformed", provider=PROVIDER)
            log.warning("wechatpay_notification_malformed", reason=str(exc))
            raise MalformedPayload(str(exc)) from None
        if resource.get("mchid") != self._mchid:
            count("rejected_mchid_mismatch", provider=PROVIDER)
            log.warning("wechatpay_notification_refused", code="mchid_mismatch")
            raise MchidMismatch("the resource is for another merchant id")

        received_at = datetime.fromtimestamp(now, UTC)
        normalized = normalize_wechatpay(notification, resource, received_at=received_at)
        raw = OutgoingEvent(
            WebhookReceivedV1(
                provider=PROVIDER,
                provider_event_id=notification.id,
                provider_event_type=notification.event_type,
                content_type=RAW_CONTENT_TYPE,
                body=raw_body(signed, text, resource_text),
                received_at=received_at,
            ),
            source=SOURCE,
            id=deterministic_id(PROVIDER, notification.id, "raw"),
            time=received_at,
            subject=notification.id,
        )
        key = normalized.user_id or notification.id
        events = [(self._raw_topic, key, raw)]
        if normalized.event is not None:
            assert normalized.user_id is not None
            events.append((self._payments_topic, normalized.user_id, normalized.event))
        try:
            await self._publisher.publish(events)
        except KafkaUnavailable as exc:
            count("kafka_unavailable", notification.event_type, provider=PROVIDER)
            log.error(
                "wechatpay_notification_not_published",
                notification_id=notification.id,
                type=notification.event_type,
                error=repr(exc.__cause__),
            )
            raise
        self._report(normalized)
        return WeChatPayIngestResult(
            notification.id, notification.event_type, tuple(t for t, _, _ in events), normalized
        )

    @staticmethod
    def _report(n: WeChatPayNormalized) -> None:
        count("ignored" if n.ignored else "accepted", n.event_type, provider=PROVIDER)
        if n.event is not None:
            return
        fields = {
            "notification_id": n.notification_id,
            "type": n.event_type,
            "outcome": n.outcome.value,
            "detail": n.detail,
            "order_id": n.order_id,
            "user_id": n.user_id,
        }
        if n.outcome is WeChatPayOutcome.INVALID_METADATA or (
            n.outcome is WeChatPayOutcome.NOT_OURS and n.event_type in REFUND_EVENTS
        ):
            # Money that moved for an order we cannot read, or a refund we cannot attribute:
            # it stays in webhooks.raw, and an operator must look at it.
            log.error("wechatpay_notification_unattributed", **fields)
        else:
            log.info("wechatpay_notification_ignored", **fields)


def _setting(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as f:
            return f.read()
    return value


@dataclass(frozen=True, slots=True)
class WeChatPayConfig:
    """WeChat Pay's settings, checked (keys parsed) when the app is made, not at the first
    notification."""

    verifier: PlatformVerifier
    apiv3_key: str
    mchid: str
    raw_topic: str
    payments_topic: str
    ack_timeout_s: float

    def service(self, producer: AIOKafkaProducer) -> WeChatPayWebhookService:
        return WeChatPayWebhookService(
            producer=producer,
            verifier=self.verifier,
            apiv3_key=self.apiv3_key,
            mchid=self.mchid,
            raw_topic=self.raw_topic,
            payments_topic=self.payments_topic,
            ack_timeout_s=self.ack_timeout_s,
        )


def wechatpay_config(settings: WebhookIngestSettings) -> WeChatPayConfig | None:
    """None when WeChat Pay is not configured at all (the route then answers 503); a partial or
    invalid configuration is a ValueError."""
    key = settings.wechatpay_apiv3_key
    values = {
        "wechatpay_mchid": _setting(settings.wechatpay_mchid),
        "wechatpay_apiv3_key": _setting(key.get_secret_value() if key else None),
        "wechatpay_platform_public_key": _setting(settings.wechatpay_platform_public_key),
        "wechatpay_platform_public_key_id": _setting(settings.wechatpay_platform_public_key_id),
    }
    missing = [k for k, v in values.items() if v is None]
    if len(missing) == len(values):
        return None
    if missing:
        raise ValueError(f"WeChat Pay is partly configured; missing {', '.join(missing)}")
    got = {k: v for k, v in values.items() if v is not None}
    if len(got["wechatpay_apiv3_key"].encode()) != 32:
        raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
    return WeChatPayConfig(
        verifier=PlatformVerifier(
            {got["wechatpay_platform_public_key_id"].strip(): got["wechatpay_platform_public_key"]}
        ),
        apiv3_key=got["wechatpay_apiv3_key"],
        mchid=got["wechatpay_mchid"].strip(),
        raw_topic=settings.topics.webhooks_raw,
        payments_topic=settings.topics.payments_events,
        ack_timeout_s=settings.kafka_ack_timeout_s,
    )


# --- the route ------------------------------------------------------------------------------

wechatpay_router = APIRouter(tags=["webhooks"])

_FAIL_DOC = (
    'Refused or not acknowledged: `{"code": "FAIL", "message": ...}` (what WeChat Pay reads) '
    'and `"error": {"code", "message"}`'
)


@wechatpay_router.post(
    WECHATPAY_PATH,
    summary="Receive a WeChat Pay API v3 notification",
    description="Verifies the Wechatpay-* signature (platform public key, 5 minute window), "
    "decrypts the AES-256-GCM resource, publishes the verified notification to `webhooks.raw` "
    "and its payment / refund event to `payments.events`, and answers 200 "
    '`{"code": "SUCCESS"}` only after Kafka acknowledged (acks=all).',
    responses={
        200: {"description": 'Acknowledged: `{"code": "SUCCESS", "message": "成功"}`'},
        400: {
            "description": f"{_FAIL_DOC}: `signature_missing`, `signature_invalid`, "
            "`unknown_serial`, `timestamp_outside_tolerance`, `malformed_payload`, "
            "`resource_undecryptable`, `mchid_mismatch`; nothing was published"
        },
        413: {"description": f"{_FAIL_DOC}: `payload_too_large`; nothing was published"},
        503: {
            "description": f"{_FAIL_DOC}: `kafka_unavailable` (WeChat Pay retries) or "
            "`provider_not_configured`"
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def wechatpay_webhook(request: Request) -> Response:
    service: WeChatPayWebhookService | None = getattr(
        request.app.state, "wechatpay_webhook_service", None
    )
    settings: WebhookIngestSettings = request.app.state.settings
    try:
        if service is None:
            raise ProviderNotConfigured("WeChat Pay is not configured on this webhook-ingest")
        body = await read_limited_body(request, settings.webhook_max_body_bytes)
        result = await service.ingest(body, request.headers)
    except PaystreamError as exc:
        return _answer(
            exc.status_code,
            {"code": "FAIL", "message": exc.message, **exc.body()},
        )
    content: dict[str, Any] = {
        "code": "SUCCESS",
        "message": "成功",
        "notification_id": result.notification_id,
        "published": list(result.published),
    }
    if result.normalized.ignored:
        content["ignored"] = True
    return _answer(200, content)


def _answer(status: int, content: dict[str, Any]) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")
