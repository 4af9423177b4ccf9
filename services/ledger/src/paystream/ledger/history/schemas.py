"""Bodies of `GET /v1/transactions` (also what an operator's grant or void answers)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from paystream.ledger.books.domain import Kind
from paystream.ledger.books.repository import TransactionRow
from paystream.ledger.common import LotAmountOut, lot_amounts

# Kinds that add to what the user can spend; every other kind takes from it (or reserves it).
_POSITIVE = frozenset({"grant", "adjustment", "release"})


class TransactionItem(BaseModel):
    id: uuid.UUID
    kind: Kind = Field(
        description="grant (a paid order's lot), adjustment (an operator's grant), spend, hold,"
        " capture (held credits spent), release (held credits back), expire, void (an"
        " operator voided a lot), revoke (taken back for a refund)"
    )
    unit: str
    credits: int = Field(
        description="signed: + for grant, adjustment, release; - for spend, hold, capture,"
        " expire, void, revoke"
    )
    balance_after: int = Field(description="credits available in the unit after it")
    reason: str
    order_id: str | None
    refund_key: str | None = Field(description="the refund a revoke took credits back for")
    hold_id: uuid.UUID | None
    actor: str | None = Field(description="the operator who did it (adjustment, void)")
    lots: list[LotAmountOut] = Field(description="the lots it moved credits of")
    created_at: datetime

    @classmethod
    def of(cls, tx: TransactionRow) -> TransactionItem:
        kind: Kind = tx.kind  # type: ignore[assignment]  # the table's CHECK keeps it a Kind
        return cls(
            id=tx.id,
            kind=kind,
            unit=tx.unit,
            credits=tx.credits if kind in _POSITIVE else -tx.credits,
            balance_after=tx.balance_after,
            reason=tx.reason,
            order_id=tx.order_id,
            refund_key=tx.refund_key,
            hold_id=tx.hold_id,
            actor=tx.actor,
            lots=lot_amounts(tx.lots),
            created_at=tx.created_at,
        )


class TransactionPage(BaseModel):
    items: list[TransactionItem]
    next_cursor: str | None
