"""What the ledger's endpoints need, built once in the app's lifespan: the pool, the clock, the
spend batcher, the outbox's wake-up and the known units."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
from fastapi import Request

from paystream.ledger.errors import UnknownUnit
from paystream.ledger.lots import repository as lots_repo
from paystream.ledger.settings import LedgerSettings
from paystream.ledger.spending.batcher import SpendBatcher
from paystream.shared.clock import Clock
from paystream.shared.events import DEFAULT_UNIT


@dataclass
class Units:
    """The units the ledger has granted lots in: a spend, hold or read in any other is refused.
    Cached; a miss asks the database (another instance may have granted a new unit)."""

    pool: asyncpg.Pool
    known: set[str] = field(default_factory=lambda: {DEFAULT_UNIT})

    async def require(self, unit: str) -> str:
        if unit not in self.known:
            async with self.pool.acquire() as conn:
                self.known |= await lots_repo.known_units(conn)
            if unit not in self.known:
                raise UnknownUnit(
                    f"unknown unit {unit!r}: the ledger has granted none",
                    details={"unit": unit},
                )
        return unit


@dataclass
class LedgerContext:
    pool: asyncpg.Pool
    clock: Clock
    spender: SpendBatcher
    wake_outbox: Callable[[], None]
    units: Units
    settings: LedgerSettings


async def ledger(request: Request) -> LedgerContext:
    # A coroutine, so FastAPI does not run it in its thread pool.
    ctx: LedgerContext = request.app.state.ledger
    return ctx
