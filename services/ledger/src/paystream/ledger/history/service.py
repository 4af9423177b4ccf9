"""A user's history, one page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from paystream.ledger.books import repository as books
from paystream.ledger.books.repository import TransactionRow


async def history(
    pool: asyncpg.Pool,
    user_id: str,
    *,
    limit: int,
    before_seq: int | None,
    kinds: Sequence[str] | None = None,
    unit: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[TransactionRow], int | None]:
    """One page of a user's transactions, newest first, and the seq to continue before."""
    async with pool.acquire() as conn:
        rows = await books.list_transactions(
            conn,
            user_id,
            limit=limit + 1,
            before_seq=before_seq,
            kinds=kinds,
            unit=unit,
            since=since,
            until=until,
        )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None
