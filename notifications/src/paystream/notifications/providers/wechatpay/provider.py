"""WeChat Pay as the webhook pipeline sees it: `POST /webhooks/wechatpay`, API v3 notifications.

WeChat Pay reads `code`: `{"code": "SUCCESS", "message": "成功"}` stops its retries. Every
failure answers its documented shape, `{"code": "FAIL", "message": ...}`, with our typed error
next to it (`"error": {"code", "message"}`, which WeChat Pay ignores).
"""

from __future__ import annotations

from typing import Any, Final

from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.provider import (
    Accepted,
    Answer,
    LogNames,
    NotificationProvider,
    RouteDoc,
)
from paystream.notifications.providers.wechatpay.normalize import normalize_raw
from paystream.notifications.providers.wechatpay.settings import WeChatPaySettings
from paystream.notifications.providers.wechatpay.verify import WeChatPayVerifier
from paystream.shared.errors import PaystreamError
from paystream.shared.events import WebhookReceivedV1
from paystream.shared.providers.wechatpay import PlatformVerifier

PATH: Final = "/webhooks/wechatpay"

_FAIL_DOC = (
    'Refused or not acknowledged: `{"code": "FAIL", "message": ...}` (what WeChat Pay reads) '
    'and `"error": {"code", "message"}`'
)


class WeChatPayProvider(NotificationProvider[WeChatPaySettings]):
    name = "wechatpay"
    path = PATH
    settings_type = WeChatPaySettings
    log = LogNames(
        prefix="wechatpay_notification",
        id_field="notification_id",
        outcomes={
            Outcome.INVALID_METADATA: "unattributed",
            Outcome.REFUND_UNATTRIBUTED: "unattributed",
        },
    )
    doc = RouteDoc(
        summary="Receive a WeChat Pay API v3 notification",
        description="Verifies the Wechatpay-* signature (platform public key, 5 minute window), "
        "decrypts the AES-256-GCM resource, publishes the verified notification to "
        "`webhooks.raw` and its payment / refund event to `payments.events`, and answers 200 "
        '`{"code": "SUCCESS"}` only after Kafka acknowledged (acks=all).',
        request_content_type="application/json",
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
    )

    def verifier(self, settings: WeChatPaySettings) -> WeChatPayVerifier:
        return WeChatPayVerifier(
            platform=PlatformVerifier(
                {settings.platform_public_key_id: settings.platform_public_key}
            ),
            apiv3_key=settings.apiv3_key.get_secret_value(),
            mchid=settings.mchid,
        )

    def normalize(self, raw: WebhookReceivedV1) -> Normalized:
        return normalize_raw(raw)

    def accepted(self, result: Accepted) -> Answer:
        content: dict[str, Any] = {
            "code": "SUCCESS",
            "message": "成功",
            "notification_id": result.event_id,
            "published": list(result.published),
        }
        if result.ignored:
            content["ignored"] = True
        return Answer.json(content)

    def refused(self, error: PaystreamError) -> Answer | None:
        return Answer.json(
            {"code": "FAIL", "message": error.message, **error.body()}, status=error.status_code
        )
