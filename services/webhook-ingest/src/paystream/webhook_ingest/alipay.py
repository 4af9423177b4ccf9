"""`POST /webhooks/alipay`: Alipay's asynchronous notifications, verified, published, answered.

Alipay POSTs a form (application/x-www-form-urlencoded) to the notify_url of the trade and reads
only the response BODY: the plain text `success` stops its retries (it retries anything else
over about 25 hours). So:

| what happened                                     | status | body                             |
| ------------------------------------------------- | ------ | -------------------------------- |
| verified; raw (+ payment events) acknowledged     | 200    | `success`                        |
| verified, Kafka did not acknowledge               | 503    | `fail` (Alipay retries)          |
| no / bad signature, sign_type not RSA2, wrong     | 400    | `{"error": {"code", "message"}}` |
|   app_id, malformed form                          |        |   nothing published              |
| body over webhook_max_body_bytes                  | 413    | error body, nothing published    |
| alipay_app_id / alipay_public_key not configured  | 503    | `provider_not_configured`        |

The status code is for us (metrics, logs, a human with curl): Alipay itself treats every answer
but `success` the same way, which is what we want for `fail` (retry) and harmless for a refusal
(a genuine notification refused because of our own misconfiguration is retried for a day, time
to fix the keys).

Verification (paystream.shared.providers.alipay.verify_notification): RSA2 over the sorted
parameters without `sign` and `sign_type`, with Alipay's public key; `sign_type` must be RSA2
(the legacy RSA is SHA1); `app_id` must be ours. Every verified notification goes to
`webhooks.raw` verbatim (`WebhookReceivedV1`, provider "alipay", id
`deterministic_id("alipay", notify_id, "raw")`); what it means goes to `payments.events`
(see alipay_normalize).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from paystream.shared.errors import BadRequest, ServiceUnavailable
from paystream.shared.events import WebhookReceivedV1, deterministic_id
from paystream.shared.providers import alipay as ali
from paystream.webhook_ingest.alipay_normalize import (
    CONTENT_TYPE,
    PROVIDER,
    SOURCE,
    AlipayNormalized,
    MalformedNotification,
    Outcome,
    normalize_alipay,
    notification_id,
    parse_form,
)
from paystream.webhook_ingest.publish import AckedPublisher, KafkaUnavailable, read_limited_body
from paystream.webhook_ingest.records import OutgoingEvent
from paystream.webhook_ingest.schemas import ErrorBody
from paystream.webhook_ingest.service import count
from paystream.webhook_ingest.settings import WebhookIngestSettings

log = structlog.get_logger(__name__)

ALIPAY_PATH: Final = "/webhooks/alipay"
SUCCESS: Final = "success"
FAIL: Final = "fail"


class AlipayNotificationRefused(BadRequest):
    code = "signature_invalid"


class AlipaySignatureMissing(AlipayNotificationRefused):
    code = "signature_missing"


class AlipaySignTypeUnsupported(AlipayNotificationRefused):
    code = "sign_type_unsupported"


class AlipayAppIdMismatch(AlipayNotificationRefused):
    code = "app_id_mismatch"


class ProviderNotConfigured(ServiceUnavailable):
    code = "provider_not_configured"


_REFUSALS: dict[str, type[AlipayNotificationRefused]] = {
    "signature_missing": AlipaySignatureMissing,
    "signature_invalid": AlipayNotificationRefused,
    "sign_type_unsupported": AlipaySignTypeUnsupported,
    "app_id_mismatch": AlipayAppIdMismatch,
}


@dataclass(frozen=True, slots=True)
class AlipayIngestResult:
    notify_id: str
    published: tuple[str, ...]
    normalized: AlipayNormalized


class AlipayWebhookService:
    """Verify, normalize, publish (acks=all), and only then let the endpoint say `success`."""

    def __init__(
        self,
        *,
        producer: AIOKafkaProducer,
        app_id: str,
        alipay_public_key: str,
        raw_topic: str,
        payments_topic: str,
        ack_timeout_s: float,
    ) -> None:
        self._publisher = AckedPublisher(producer, ack_timeout_s=ack_timeout_s)
        self._app_id = app_id
        # Loaded once, at start: a bad key fails the service's start, not the first payment.
        self._public_key = ali.load_public_key(alipay_public_key)
        self._raw_topic = raw_topic
        self._payments_topic = payments_topic

    async def ingest(self, body: bytes, content_type: str) -> AlipayIngestResult:
        """Raises AlipayNotificationRefused / MalformedNotification (nothing published) or
        KafkaUnavailable (nothing promised)."""
        now = time.time()
        try:
            params = parse_form(body)
        except MalformedNotification as exc:
            count("malformed", provider=PROVIDER)
            log.warning("alipay_notification_malformed", reason=exc.message)
            raise
        try:
            ali.verify_notification(params, public_key=self._public_key, app_id=self._app_id)
        except ali.AlipaySignatureError as exc:
            # By reason (rejected_signature_invalid, rejected_app_id_mismatch, ...): a wrong
            # app_id or sign_type is a configuration problem, a bad signature may be an attack.
            count(f"rejected_{exc.reason}", provider=PROVIDER)
            log.warning("alipay_notification_refused", code=exc.reason, reason=exc.message)
            raise _REFUSALS.get(exc.reason, AlipayNotificationRefused)(exc.message) from None
        try:
            notify_id = notification_id(params)
        except MalformedNotification as exc:
            count("malformed", provider=PROVIDER)
            log.warning("alipay_notification_malformed", reason=exc.message)
            raise

        received_at = datetime.fromtimestamp(now, UTC)
        normalized = normalize_alipay(params, received_at=received_at)
        raw = OutgoingEvent(
            WebhookReceivedV1(
                provider=PROVIDER,
                provider_event_id=notify_id,
                provider_event_type=normalized.event_type,
                content_type=content_type or CONTENT_TYPE,
                # parse_form succeeded, so the body is UTF-8.
                body=body.decode("utf-8"),
                received_at=received_at,
            ),
            source=SOURCE,
            id=deterministic_id(PROVIDER, notify_id, "raw"),
            time=received_at,
            subject=params.get("out_trade_no") or notify_id,
        )
        records = [(self._raw_topic, normalized.user_id or params["out_trade_no"], raw)]
        records.extend((self._payments_topic, key, ev) for key, ev in normalized.events)
        try:
            await self._publisher.publish(records)
        except KafkaUnavailable as exc:
            count("kafka_unavailable", normalized.event_type, provider=PROVIDER)
            log.error(
                "alipay_notification_not_published",
                notify_id=notify_id,
                type=normalized.event_type,
                error=repr(exc.__cause__),
            )
            raise
        _report(normalized)
        return AlipayIngestResult(
            notify_id, tuple(dict.fromkeys(t for t, _, _ in records)), normalized
        )


def _report(n: AlipayNormalized) -> None:
    count("ignored" if n.ignored else "accepted", n.event_type, provider=PROVIDER)
    fields = {
        "notify_id": n.notify_id,
        "type": n.event_type,
        "outcome": n.outcome.value,
        "detail": n.detail,
        "order_id": n.order_id,
        "user_id": n.user_id,
    }
    if n.outcome is Outcome.INVALID:
        # A verified notification we cannot read may be money we did not credit: it stays in
        # webhooks.raw, and an operator must look at it.
        log.error("alipay_notification_invalid", **fields)
    elif n.ignored or n.outcome is Outcome.AWAITING_PAYMENT:
        log.info("alipay_notification_ignored", **fields)


def build_alipay_service(
    settings: WebhookIngestSettings, producer: AIOKafkaProducer
) -> AlipayWebhookService | None:
    """The service, or None when Alipay is not configured (the route then answers 503)."""
    if not settings.alipay_app_id or not settings.alipay_public_key:
        return None
    return AlipayWebhookService(
        producer=producer,
        app_id=settings.alipay_app_id,
        alipay_public_key=settings.alipay_public_key,
        raw_topic=settings.topics.webhooks_raw,
        payments_topic=settings.topics.payments_events,
        ack_timeout_s=settings.kafka_ack_timeout_s,
    )


# --- HTTP -----------------------------------------------------------------------------------

alipay_router = APIRouter(tags=["webhooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "`signature_missing`, `signature_invalid`, `sign_type_unsupported`, "
        "`app_id_mismatch` or `malformed_payload`: nothing was published",
    },
    413: {"model": ErrorBody, "description": "`payload_too_large`: nothing was published"},
    503: {
        "description": "text `fail`: Kafka did not acknowledge, Alipay retries; or "
        "`provider_not_configured` (JSON error) when Alipay's keys are not set",
    },
}

_UNSET: Final = object()


@alipay_router.post(
    ALIPAY_PATH,
    summary="Receive an Alipay asynchronous notification",
    description="Verifies the RSA2 signature with Alipay's public key, publishes the raw "
    "notification to `webhooks.raw` and its payment / refund events to `payments.events`, and "
    "answers the text `success` only after Kafka acknowledged (acks=all).",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"example": SUCCESS}}}, **_ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
        }
    },
)
async def alipay_notification(request: Request) -> Response:
    service = getattr(request.app.state, "alipay_service", _UNSET)
    if service is _UNSET:
        raise RuntimeError("the Alipay webhook service is not started (lifespan not run)")
    if service is None:
        raise ProviderNotConfigured("Alipay is not configured on this webhook-ingest")
    assert isinstance(service, AlipayWebhookService)
    settings = getattr(request.app.state, "settings", None)
    limit = settings.webhook_max_body_bytes if settings is not None else 256 * 1024
    body = await read_limited_body(request, limit)
    try:
        await service.ingest(body, request.headers.get("content-type", CONTENT_TYPE))
    except KafkaUnavailable:
        return PlainTextResponse(FAIL, status_code=503)
    return PlainTextResponse(SUCCESS)
