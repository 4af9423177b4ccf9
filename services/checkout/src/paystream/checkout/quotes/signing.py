"""Signed, expiring tokens for what checkout promised a client: a quote's price, a subscription
change's proration. HMAC-SHA256 JSON Web Tokens (PyJWT, HS256) with checkout's quote key; one
audience per kind of promise, so one can never be presented as another.

Expiry is read on checkout's clock (the sandbox clock in sandbox mode), not PyJWT's system clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import jwt

from paystream.shared.clock import Clock
from paystream.shared.errors import PaystreamError, Unprocessable

# The development default: accepted only in sandbox mode (see `check_quote_key`).
DEV_QUOTE_KEY: Final = "paystream-dev-quote-key-change-me-in-production"
MIN_KEY_BYTES: Final = 32


class InvalidQuoteKey(ValueError):
    """Checkout refuses to start outside sandbox mode with the default or a short quote key."""


def check_quote_key(key: str, *, sandbox: bool) -> None:
    if sandbox:
        return
    if key == DEV_QUOTE_KEY:
        raise InvalidQuoteKey(
            "PAYSTREAM_QUOTE_KEY is the development default: set a secret of at least "
            f"{MIN_KEY_BYTES} bytes (quotes and previews are signed with it)"
        )
    if len(key.encode()) < MIN_KEY_BYTES:
        raise InvalidQuoteKey(f"PAYSTREAM_QUOTE_KEY is shorter than {MIN_KEY_BYTES} bytes")


class TokenInvalid(Unprocessable):
    code = "quote_invalid"


class TokenExpired(Unprocessable):
    code = "quote_expired"


class Signer:
    def __init__(self, key: str, clock: Clock) -> None:
        self._key = key
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock

    def sign(self, audience: str, claims: dict[str, Any], *, expires_at: datetime) -> str:
        body = {**claims, "aud": audience, "exp": int(expires_at.timestamp())}
        return jwt.encode(body, self._key, algorithm="HS256")

    def verify(
        self,
        audience: str,
        token: str,
        *,
        what: str = "quote",
        invalid: type[PaystreamError] = TokenInvalid,
        expired: type[PaystreamError] = TokenExpired,
    ) -> dict[str, Any]:
        """The claims of a token this checkout signed for `audience`; TokenInvalid when it was
        altered, signed with another key or for another audience, TokenExpired when its time
        (on checkout's clock) is over."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=audience,
                # Times are checked below on checkout's clock, which may run ahead (sandbox).
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "aud"],
                },
            )
        except jwt.PyJWTError:
            raise invalid(f"this {what} was not issued by checkout or was altered") from None
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if self._clock.now() >= expires_at:
            raise expired(f"this {what} expired at {expires_at.isoformat()}: ask for a new one")
        return claims
