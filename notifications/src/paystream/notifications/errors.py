"""Why a notification is refused: typed errors with the code every provider's answer carries.

A refusal publishes nothing; it is answered 400 (in the provider's shape, see its contract) so
that the provider retries, which is harmless for a forgery and lets a genuine notification
refused because of our own misconfiguration through once the keys are fixed.
"""

from __future__ import annotations

from paystream.shared.errors import BadRequest, ServiceUnavailable


class NotificationRefused(BadRequest):
    code = "signature_invalid"


class SignatureMissing(NotificationRefused):
    code = "signature_missing"


class SignatureInvalid(NotificationRefused):
    code = "signature_invalid"


class TimestampOutsideTolerance(NotificationRefused):
    code = "timestamp_outside_tolerance"


class MalformedPayload(NotificationRefused):
    """The body (or a verified notification) cannot be read as the provider's format."""

    code = "malformed_payload"


class ProviderNotConfigured(ServiceUnavailable):
    """The provider's settings are not set on this service: its route answers 503."""

    code = "provider_not_configured"
