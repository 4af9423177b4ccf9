"""Request and response bodies of the ledger's HTTP API, and its pagination cursor."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paystream.ledger.repository import RefundRow, TransactionRow
from paystream.shared.errors import BadRequest
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyOut

IDEMPOTENCY_KEY_MAX = 255


class SpendRequest(BaseModel):
    # Strict: "30", 30.0 and true are not credits; extra fields are a client bug worth seeing.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"credits": 25, "reason": "export:report-2026-11"}]},
    )

    credits: int = Field(gt=0, le=2**62, description="credits to spend, a positive integer")
    reason: str = Field(min_length=1, max_length=200, description="what the credits pay for")

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("reason must not be blank")
        return v


class SpendResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "transaction_id": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
                    "user_id": "user-42",
                    "credits": 25,
                    "balance_after": 1075,
                    "reason": "export:report-2026-11",
                    "created_at": "2026-11-01T09:15:00Z",
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": "user-42", "credits": 1075}]}
    )

    user_id: str
    credits: int


TransactionKind = Literal["grant", "spend", "revoke"]


class TransactionItem(BaseModel):
    id: uuid.UUID
    kind: TransactionKind = Field(description="revoke: credits revoked for a refund")
    credits: int = Field(
        description="signed: positive for a grant, negative for a spend or a revoke"
    )
    balance_after: int
    reason: str
    order_id: str | None
    refund_key: str | None = Field(description="the refund a revoke took credits back for")
    created_at: datetime

    @classmethod
    def of(cls, tx: TransactionRow) -> TransactionItem:
        kind: TransactionKind = (
            "grant" if tx.kind == "grant" else "revoke" if tx.kind == "revoke" else "spend"
        )
        return cls(
            id=tx.id,
            kind=kind,
            credits=tx.credits if kind == "grant" else -tx.credits,
            balance_after=tx.balance_after,
            reason=tx.reason,
            order_id=tx.order_id,
            refund_key=tx.refund_key,
            created_at=tx.created_at,
        )


class TransactionPage(BaseModel):
    items: list[TransactionItem]
    next_cursor: str | None


RefundStatus = Literal["pending", "applied", "rejected"]


class RefundItem(BaseModel):
    """A refund as the ledger saw it: what it owed back, revoked and could not revoke."""

    id: uuid.UUID
    refund_key: str = Field(examples=["stripe:re_123"])
    order_id: str
    user_id: str
    refund_id: str | None
    amount: MoneyOut
    reason: str | None
    status: RefundStatus = Field(
        description="pending: waiting for its order's grant; applied; rejected: can never apply"
    )
    credits_due: int | None = Field(description="this refund's share of the grant")
    credits_taken: int | None = Field(description="revoked from the balance")
    shortfall: int | None = Field(description="due but already spent: not revoked")
    balance_after: int | None
    transaction_id: uuid.UUID | None = Field(description="the revoke, when credits were revoked")
    rejection: str | None
    refunded_at: datetime
    received_at: datetime
    applied_at: datetime | None

    @classmethod
    def of(cls, row: RefundRow) -> RefundItem:
        r = row.refund
        status: RefundStatus = (
            "applied"
            if row.status == "applied"
            else "rejected"
            if row.status == "rejected"
            else "pending"
        )
        return cls(
            id=row.id,
            refund_key=r.refund_key,
            order_id=r.order_id,
            user_id=r.user_id,
            refund_id=r.refund_id,
            amount=_money_out(r.amount_minor, r.currency),
            reason=r.reason,
            status=status,
            credits_due=row.credits_due,
            credits_taken=row.credits_taken,
            shortfall=row.shortfall,
            balance_after=row.balance_after,
            transaction_id=row.transaction_id,
            rejection=row.rejection,
            refunded_at=r.refunded_at,
            received_at=row.received_at,
            applied_at=row.applied_at,
        )


def _money_out(minor: int, currency: str) -> MoneyOut:
    try:
        return MoneyOut.of(Money(minor, currency))
    except ValueError:
        # A currency the platform does not know (the refund was refused for it): shown as
        # received rather than hiding the record from the operator.
        return MoneyOut(value=str(minor), currency=currency)


class RefundPage(BaseModel):
    items: list[RefundItem]
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
