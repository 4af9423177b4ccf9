"""A WeChat Pay notification's verification and decryption (pure: no I/O, the clock is an
argument), giving the Received notification `webhooks.raw` keeps.

In order (see `paystream.shared.providers.wechatpay` for the scheme): `Wechatpay-Serial` must be
the configured platform public key id, the RSA-SHA256 `Wechatpay-Signature` over
`timestamp\\nnonce\\nbody\\n` must verify with it (signature probes `WECHATPAY/SIGNTEST/...` fail
like any forgery), and `Wechatpay-Timestamp` must be within five minutes of our clock either
way; then the body must be a v3 notification whose AEAD_AES_256_GCM resource decrypts with our
APIv3 key into a JSON object for our merchant id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from paystream.notifications.errors import (
    MalformedPayload,
    NotificationRefused,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutsideTolerance,
)
from paystream.notifications.provider import Received
from paystream.notifications.providers.wechatpay.raw import RAW_CONTENT_TYPE, raw_body, resource_doc
from paystream.shared.providers.wechatpay import (
    DecryptionFailed,
    MalformedNotification,
    PlatformVerifier,
    SignatureRefused,
    decrypt_resource,
    parse_notification,
)


class UnknownSerial(NotificationRefused):
    code = "unknown_serial"


class ResourceUndecryptable(NotificationRefused):
    code = "resource_undecryptable"


class MchidMismatch(NotificationRefused):
    code = "mchid_mismatch"


_REFUSALS: Final[dict[str, type[NotificationRefused]]] = {
    cls.code: cls
    for cls in (
        SignatureMissing,
        SignatureInvalid,
        UnknownSerial,
        TimestampOutsideTolerance,
        ResourceUndecryptable,
    )
}


class WeChatPayVerifier:
    __slots__ = ("_apiv3_key", "_mchid", "_platform")

    def __init__(self, *, platform: PlatformVerifier, apiv3_key: str, mchid: str) -> None:
        self._platform = platform
        self._apiv3_key = apiv3_key
        self._mchid = mchid

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> Received:
        """Raises a NotificationRefused by WeChat Pay's code, or MalformedPayload."""
        try:
            signed = self._platform.verify(headers, body, now=now)
            notification = parse_notification(body)
            plaintext = decrypt_resource(notification.resource, self._apiv3_key)
            resource = resource_doc(plaintext)
            text = body.decode("utf-8")  # parse_notification succeeded: valid UTF-8
            resource_text = plaintext.decode("utf-8")
        except (SignatureRefused, DecryptionFailed) as exc:
            raise _REFUSALS.get(exc.code, NotificationRefused)(str(exc)) from None
        except (MalformedNotification, UnicodeDecodeError) as exc:
            raise MalformedPayload(str(exc)) from None
        if resource.get("mchid") != self._mchid:
            raise MchidMismatch("the resource is for another merchant id")
        return Received(
            event_id=notification.id,
            event_type=notification.event_type,
            subject=notification.id,
            content_type=RAW_CONTENT_TYPE,
            body=raw_body(signed, text, resource_text),
        )
