"""Bodies of the operators' refunds view."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from paystream.ledger.refunds.repository import RefundRow
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyOut

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
    unit: str | None = Field(description="the unit of the order's lots this row is about")
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
            unit=row.unit,
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
