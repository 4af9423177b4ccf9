"""Stripe's `Stripe-Signature` verification, and the verified body as a Received notification
(pure: no I/O, the clock is an argument).

The scheme, as Stripe documents it and its SDKs implement it:
- the header is `t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]`;
- the expected signature is HMAC-SHA256 keyed by the endpoint secret (the whole `whsec_...`
  string) over `"<t>.<raw body>"`, hex encoded; it is compared in constant time;
- any `v1` entry may match (Stripe sends several while a secret is being rolled); `v0` is a
  test-mode legacy scheme and is never trusted;
- the signature is checked first, then the timestamp against the tolerance.

Parsing mirrors stripe-python's `WebhookSignature` item for item, so both accept and refuse the
same headers. One deliberate difference: we also refuse timestamps more than the tolerance in
the FUTURE (the SDK only bounds the past). A forward-dated header is not something Stripe sends;
accepting it would let a captured signature be replayed for as long as the skew.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from paystream.notifications.errors import (
    SignatureInvalid,
    SignatureMissing,
    TimestampOutsideTolerance,
)
from paystream.notifications.provider import Received
from paystream.notifications.providers.stripe.normalize import parse_event

EXPECTED_SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300
CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class SignatureHeader:
    timestamp: int
    signatures: tuple[str, ...]  # the v1 entries only


def parse_signature_header(header: str) -> SignatureHeader:
    """Split the header into its timestamp and v1 signatures (SignatureInvalid if impossible)."""
    items = [item.split("=", 2) for item in header.split(",")]
    unparsable = SignatureInvalid("unable to extract timestamp and signatures from header")
    try:
        stamps = [i[1] for i in items if i[0] == "t"]
        signatures = tuple(i[1] for i in items if i[0] == EXPECTED_SCHEME)
        # The first `t` wins and it is read as Python's int() reads it, exactly as stripe-python:
        # the signed payload uses the normalised number, so a re-spelled `t` cannot match.
        timestamp = int(stamps[0]) if stamps else None
    except (IndexError, ValueError):
        raise unparsable from None
    if timestamp is None:
        raise unparsable
    if not signatures:
        raise SignatureInvalid(f"no signatures found with expected scheme {EXPECTED_SCHEME}")
    return SignatureHeader(timestamp, signatures)


class StripeSignatureVerifier:
    """Verifies bodies against one or more endpoint secrets (several while rotating)."""

    __slots__ = ("_keyed", "tolerance_s")

    def __init__(self, secrets: Sequence[str], tolerance_s: int = DEFAULT_TOLERANCE_S) -> None:
        cleaned = [s for s in secrets if s.strip()]
        if not cleaned:
            raise ValueError("at least one Stripe webhook secret is required")
        if tolerance_s <= 0:
            raise ValueError("tolerance must be positive")
        # HMAC key setup is done once per secret; each request copies the keyed state.
        self._keyed = tuple(hmac.new(s.encode("utf-8"), digestmod=hashlib.sha256) for s in cleaned)
        self.tolerance_s = tolerance_s

    def expected_signatures(self, body: bytes, timestamp: int) -> list[bytes]:
        out: list[bytes] = []
        prefix = b"%d." % timestamp
        for keyed in self._keyed:
            mac = keyed.copy()
            mac.update(prefix)
            mac.update(body)
            out.append(mac.hexdigest().encode("ascii"))
        return out

    def verify(self, body: bytes, header: str | None, *, now: float) -> int:
        """Return the signed timestamp, or raise one of the SignatureRefused errors."""
        if not header:
            raise SignatureMissing("no Stripe-Signature header")
        parsed = parse_signature_header(header)
        # Header values come from the network; compare bytes so that a non-ASCII value is a
        # mismatch rather than a TypeError from compare_digest.
        candidates = [s.encode("utf-8", "surrogateescape") for s in parsed.signatures]
        matched = False
        for expected in self.expected_signatures(body, parsed.timestamp):
            for candidate in candidates:
                if hmac.compare_digest(expected, candidate):
                    matched = True
        if not matched:
            raise SignatureInvalid("no signature matches the expected signature for the payload")
        if abs(now - parsed.timestamp) > self.tolerance_s:
            raise TimestampOutsideTolerance(
                f"timestamp {parsed.timestamp} is more than {self.tolerance_s}s from now"
            )
        return parsed.timestamp


class StripeVerifier:
    """A Stripe webhook as `webhooks.raw` keeps it: signature first, then the event's id and
    type (MalformedPayload if the verified body is not an event)."""

    __slots__ = ("_signatures",)

    def __init__(self, signatures: StripeSignatureVerifier) -> None:
        self._signatures = signatures

    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> Received:
        self._signatures.verify(body, headers.get("stripe-signature"), now=now)
        event = parse_event(body)
        return Received(
            event_id=event.id,
            event_type=event.type,
            subject=event.id,
            content_type=headers.get("content-type") or CONTENT_TYPE,
            # parse_event succeeded, so the body is valid UTF-8 (orjson refuses anything else).
            body=body.decode("utf-8"),
            parsed=event,
        )
