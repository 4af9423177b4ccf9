"""An Alipay notification's verification (pure: no I/O), and the form as a Received notification.

The form is parsed first (one value per name, so what was signed is unambiguous); then `sign`
must be present, `sign_type` RSA2 (the legacy RSA is SHA1), the RSA2 signature must verify with
Alipay's public key (`paystream.shared.providers.alipay.verify_notification`), and `app_id` must
be ours: another application of the same merchant is genuine, but not ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from paystream.notifications.errors import (
    NotificationRefused,
    SignatureInvalid,
    SignatureMissing,
)
from paystream.notifications.provider import Received
from paystream.notifications.providers.alipay.normalize import (
    CONTENT_TYPE,
    event_type,
    notification_id,
    parse_form,
)
from paystream.shared.providers import alipay as ali


class SignTypeUnsupported(NotificationRefused):
    code = "sign_type_unsupported"


class AppIdMismatch(NotificationRefused):
    code = "app_id_mismatch"


_REFUSALS: Final[dict[str, type[NotificationRefused]]] = {
    cls.code: cls
    for cls in (SignatureMissing, SignatureInvalid, SignTypeUnsupported, AppIdMismatch)
}


class AlipayVerifier:
    __slots__ = ("_app_id", "_public_key")

    def __init__(self, *, app_id: str, public_key: RSAPublicKey) -> None:
        self._app_id = app_id
        self._public_key = public_key

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> Received:
        """Raises MalformedPayload (not a form, or a verified notification without the fields
        every notification has) or a NotificationRefused by Alipay's reason."""
        params = parse_form(body)
        try:
            ali.verify_notification(params, public_key=self._public_key, app_id=self._app_id)
        except ali.AlipaySignatureError as exc:
            raise _REFUSALS.get(exc.reason, NotificationRefused)(exc.message) from None
        notify_id = notification_id(params)
        return Received(
            event_id=notify_id,
            event_type=event_type(params),
            subject=params.get("out_trade_no") or notify_id,
            content_type=headers.get("content-type") or CONTENT_TYPE,
            # parse_form succeeded, so the body is UTF-8.
            body=body.decode("utf-8"),
        )
