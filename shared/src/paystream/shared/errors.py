"""Typed errors with a stable code and HTTP status, mapped once per app to
`{"error": {"code", "message"}}`."""

from __future__ import annotations

from typing import Any, ClassVar


class PaystreamError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        # Response headers the refusal needs (Retry-After of a 429).
        self.headers = headers

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            err["details"] = self.details
        return {"error": err}


class BadRequest(PaystreamError):
    status_code = 400
    code = "bad_request"


class Unauthorized(PaystreamError):
    status_code = 401
    code = "unauthorized"


class Forbidden(PaystreamError):
    status_code = 403
    code = "forbidden"


class NotFound(PaystreamError):
    status_code = 404
    code = "not_found"


class Conflict(PaystreamError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(PaystreamError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(PaystreamError):
    status_code = 429
    code = "too_many_requests"


class Unprocessable(PaystreamError):
    status_code = 422
    code = "unprocessable"


class UpstreamError(PaystreamError):
    status_code = 502
    code = "upstream_error"


class ServiceUnavailable(PaystreamError):
    status_code = 503
    code = "service_unavailable"
