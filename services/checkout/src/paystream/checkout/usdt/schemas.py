"""HTTP bodies of the USDT admin API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from paystream.checkout.usdt.domain import RecordedTransfer, TransferStatus
from paystream.shared.schemas import MoneyOut


class UsdtTransferOut(BaseModel):
    id: str
    transaction_id: str
    event_index: int
    from_address: str
    to_address: str
    amount: MoneyOut
    # What the matched deposit asked for (absent when unmatched).
    expected: MoneyOut | None
    status: TransferStatus
    credited: bool
    order_id: str | None
    deposit_id: str | None
    block_number: int | None
    block_timestamp: datetime
    note: str | None
    seen_at: datetime

    @classmethod
    def of(cls, t: RecordedTransfer) -> UsdtTransferOut:
        return cls(
            id=t.id,
            transaction_id=t.transaction_id,
            event_index=t.event_index,
            from_address=t.from_address,
            to_address=t.to_address,
            amount=MoneyOut.of(t.amount),
            expected=None if t.expected is None else MoneyOut.of(t.expected),
            status=t.status,
            credited=t.credited,
            order_id=t.order_id,
            deposit_id=t.deposit_id,
            block_number=t.block_number,
            block_timestamp=t.block_timestamp,
            note=t.note,
            seen_at=t.seen_at,
        )


class UsdtTransferPage(BaseModel):
    items: list[UsdtTransferOut]
    next_cursor: str | None
