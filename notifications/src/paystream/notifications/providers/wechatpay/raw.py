"""WeChat Pay's record in `webhooks.raw`: the notification verbatim with its Wechatpay-* headers
and its DECRYPTED resource, `{"headers": {...}, "body": <verbatim>, "resource": <decrypted>}`.

Reprocessing then needs no key (the APIv3 key can be rotated without making history
unreadable), and the verbatim body and its headers still let anyone holding the platform public
key re-verify that WeChat Pay sent it. Kafka is internal; the resource holds no more than a
Stripe event does (an openid, amounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from paystream.notifications.errors import MalformedPayload
from paystream.shared.providers.wechatpay import Notification, SignedHeaders, parse_notification

RAW_CONTENT_TYPE: Final = "application/vnd.paystream.wechatpay-notification+json"


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
    """Read a `webhooks.raw` body written by `raw_body` (MalformedPayload otherwise)."""
    try:
        doc = orjson.loads(stored)
    except orjson.JSONDecodeError:
        raise MalformedPayload("raw record body is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedPayload("raw record body is not a JSON object")
    headers, body, plaintext = doc.get("headers"), doc.get("body"), doc.get("resource")
    if not isinstance(body, str) or not isinstance(plaintext, str):
        raise MalformedPayload("raw record lacks the body or the decrypted resource")
    resource = resource_doc(plaintext.encode())
    return StoredNotification(
        {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
        body,
        parse_notification(body),
        resource,
    )


def resource_doc(plaintext: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(plaintext)
    except orjson.JSONDecodeError:
        raise MalformedPayload("the decrypted resource is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedPayload("the decrypted resource is not a JSON object")
    return doc
