"""Pieces of the ledger's HTTP contract used by several endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel, Field

from paystream.ledger.errors import IdempotencyKeyRequired
from paystream.shared.auth import Principal
from paystream.shared.errors import BadRequest, NotFound
from paystream.shared.events import DEFAULT_UNIT, MAX_CREDITS, UNIT_PATTERN

IDEMPOTENCY_KEY_MAX = 255

UnitField = Field(
    default=DEFAULT_UNIT, pattern=UNIT_PATTERN, description="the unit, `credits` by default"
)
CreditsField = Field(gt=0, le=MAX_CREDITS, description="a positive integer")


class LotAmountOut(BaseModel):
    lot_id: uuid.UUID
    credits: int


def lot_amounts(lots: tuple[tuple[uuid.UUID, int], ...]) -> list[LotAmountOut]:
    return [LotAmountOut(lot_id=lot, credits=n) for lot, n in lots]


def error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"example": {"error": {"code": "...", "message": "..."}}}},
    }


def subject(principal: Principal, user_id: str | None) -> str:
    """Whose ledger: your own; an admin may name anyone. Someone else's is not found, so user
    ids cannot be probed."""
    if user_id is None or user_id == principal.user_id:
        return principal.user_id
    if principal.is_admin:
        return user_id
    raise NotFound("no ledger for this user")


IdempotencyKey = Annotated[
    str | None,
    # Documented bound only: a longer key is the 400 of `require_key`, as it always was.
    Header(
        alias="Idempotency-Key",
        description="required; scoped to the caller",
        json_schema_extra={"maxLength": IDEMPOTENCY_KEY_MAX},
    ),
]


def require_key(key: str | None) -> str:
    if not key:
        raise IdempotencyKeyRequired("the Idempotency-Key header is required")
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise BadRequest(f"Idempotency-Key is longer than {IDEMPOTENCY_KEY_MAX} characters")
    return key
