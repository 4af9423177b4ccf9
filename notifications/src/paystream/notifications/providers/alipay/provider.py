"""Alipay as the webhook pipeline sees it: `POST /webhooks/alipay`, a form signed RSA2.

Alipay reads only the response BODY: the plain text `success` stops its retries, anything else
is retried for about 25 hours. So Kafka's silence answers `fail` (503); refusals keep the shared
JSON error body, with a status code that is for us (metrics, logs, a human with curl).
"""

from __future__ import annotations

from typing import Any, Final

from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.provider import (
    Accepted,
    Answer,
    ErrorBody,
    LogNames,
    NotificationProvider,
    RouteDoc,
)
from paystream.notifications.providers.alipay.normalize import normalize_raw
from paystream.notifications.providers.alipay.settings import AlipaySettings
from paystream.notifications.providers.alipay.verify import AlipayVerifier
from paystream.shared.errors import PaystreamError
from paystream.shared.events import WebhookReceivedV1

PATH: Final = "/webhooks/alipay"
SUCCESS: Final = "success"
FAIL: Final = "fail"

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"example": SUCCESS}}},
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


class AlipayProvider(NotificationProvider[AlipaySettings]):
    name = "alipay"
    path = PATH
    settings_type = AlipaySettings
    log = LogNames(
        prefix="alipay_notification",
        id_field="notify_id",
        outcomes={Outcome.INVALID_METADATA: "invalid"},
    )
    doc = RouteDoc(
        summary="Receive an Alipay asynchronous notification",
        description="Verifies the RSA2 signature with Alipay's public key, publishes the raw "
        "notification to `webhooks.raw` and its payment / refund events to `payments.events`, "
        "and answers the text `success` only after Kafka acknowledged (acks=all).",
        request_content_type="application/x-www-form-urlencoded",
        responses=_RESPONSES,
        media_type="text/plain",
    )

    def verifier(self, settings: AlipaySettings) -> AlipayVerifier:
        return AlipayVerifier(app_id=settings.app_id, public_key=settings.public_key)

    def normalize(self, raw: WebhookReceivedV1) -> Normalized:
        return normalize_raw(raw)

    def accepted(self, result: Accepted) -> Answer:
        # Also for notifications paystream does not act on: only `success` stops the retries.
        return Answer.text(SUCCESS)

    def not_published(self, error: PaystreamError) -> Answer | None:
        return Answer.text(FAIL, status=503)
