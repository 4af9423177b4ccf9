"""Request and response bodies of the ledger's HTTP API, and its pagination cursor."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paystream.ledger.repository import TransactionRow
from paystream.shared.errors import BadRequest

IDEMPOTENCY_KEY_MAX = 255


class SpendRequest(BaseModel):
    # Strict: "30", 30.0 and true are not credits; extra fields are a client bug worth seeing.
    model_config = ConfigDict(extra="forbid", strict=True)

    credits: int = Field(gt=0, le=2**62, description="credits to spend, a positive integer")
    reason: str = Field(min_length=1, max_length=200, description="what the credits pay for")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("reason must not be blank")
        return v


class SpendResponse(BaseModel):
    transaction_id: uuid.UUID
    user_id: str
    credits: int
    balance_after: int
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, tx: TransactionRow) -> SpendResponse:
        return cls(
            transaction_id=tx.id,
            user_id=tx.user_id,
            credits=tx.credits,
            balance_after=tx.balance_after,
            reason=tx.reason,
            created_at=tx.created_at,
        )


class BalanceResponse(BaseModel):
    user_id: str
    credits: int


class TransactionItem(BaseModel):
    id: uuid.UUID
    kind: Literal["grant", "spend"]
    credits: int = Field(description="signed: positive for a grant, negative for a spend")
    balance_after: int
    reason: str
    order_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, tx: TransactionRow) -> TransactionItem:
        return cls(
            id=tx.id,
            kind="grant" if tx.kind == "grant" else "spend",
            credits=tx.credits if tx.kind == "grant" else -tx.credits,
            balance_after=tx.balance_after,
            reason=tx.reason,
            order_id=tx.order_id,
            created_at=tx.created_at,
        )


class TransactionPage(BaseModel):
    items: list[TransactionItem]
    next_cursor: str | None


# The cursor is the insertion sequence of the last item shown: keyset pagination on it is
# stable under concurrent inserts and follows balance_after order even when timestamps tie.
_CURSOR_PREFIX = "seq:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("invalid cursor") from None
    value = raw.removeprefix(_CURSOR_PREFIX)
    if value == raw or not (value.isascii() and value.isdigit()) or int(value) >= 2**63:
        raise BadRequest("invalid cursor")
    return int(value)
