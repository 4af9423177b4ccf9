"""The ledger's errors, each with its HTTP status and stable code (mapped once by the app)."""

from __future__ import annotations

from paystream.shared.errors import BadRequest, Conflict, NotFound, Unprocessable


class InsufficientCredits(Conflict):
    code = "insufficient_credits"


class IdempotencyKeyRequired(BadRequest):
    code = "idempotency_key_required"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"


class UnknownUnit(Unprocessable):
    code = "unknown_unit"


class LotNotFound(NotFound):
    code = "lot_not_found"


class LotNotVoidable(Conflict):
    """Only a lot that still counts (not expired, voided or used up) and holds no credits for an
    open hold can be voided."""

    code = "lot_not_voidable"


class HoldNotFound(NotFound):
    code = "hold_not_found"


class HoldExpired(Conflict):
    code = "hold_expired"


class HoldNotOpen(Conflict):
    code = "hold_not_open"


class CaptureExceedsHold(Unprocessable):
    code = "capture_exceeds_hold"


class InvalidTime(Unprocessable):
    code = "invalid_time"


class InvalidValidityRefused(Unprocessable):
    code = "invalid_validity"


class ConcurrentGrant(RuntimeError):
    """Another transaction granted one of this batch's order lines after we checked.

    Only possible when two consumers apply the same order at once (a replay beside the live
    consumer). Raising rolls the batch back; the consumer then applies its events one at a
    time, and the check sees the other grant.
    """
