"""Ledger throughput: paid orders (OrderPaidV1) granted per second from a pre-filled topic."""

from __future__ import annotations

from typing import Any

import asyncpg

from paystream.devtools.bench.apply import apply_from_topic
from paystream.ledger.consumers import ledger_handler
from paystream.ledger.settings import LedgerSettings
from paystream.shared.clock import SystemClock


async def _check(pool: asyncpg.Pool) -> dict[str, Any]:
    grants = await pool.fetchval("SELECT count(*) FROM transactions WHERE kind = 'grant'")
    credits = await pool.fetchval("SELECT coalesce(sum(remaining), 0) FROM lots")
    return {"grants_in_db": grants, "credits_in_db": int(credits)}


async def run(n: int, users: int = 5000) -> dict[str, Any]:
    settings = LedgerSettings()
    return await apply_from_topic(
        name="ledger",
        settings=settings,
        migrations_dir=settings.migrations_dir,
        handler=ledger_handler(SystemClock),
        check=_check,
        n=n,
        users=users,
    )
