"""Invoicing throughput: payment events invoiced per second from a pre-filled topic.

Every event is a new order, so each one takes a number: with numbers gap-free, `max_number`
equals `events`.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from paystream.devtools.bench.apply import apply_from_topic
from paystream.invoicing.consumers import handle_payment_events
from paystream.invoicing.settings import InvoicingSettings


async def _check(pool: asyncpg.Pool) -> dict[str, Any]:
    invoices = await pool.fetchval("SELECT count(*) FROM invoices")
    # The sequence part of INV-<year>-<sequence>; every event is paid in the same year.
    max_number = await pool.fetchval(
        "SELECT coalesce(max(split_part(number, '-', 3)::int), 0) FROM invoices"
    )
    return {"invoices_in_db": invoices, "max_number": max_number}


async def run(n: int, users: int = 5000) -> dict[str, Any]:
    settings = InvoicingSettings()
    return await apply_from_topic(
        name="invoicing",
        settings=settings,
        migrations_dir=settings.migrations_dir,
        handler=handle_payment_events,
        check=_check,
        n=n,
        users=users,
    )
