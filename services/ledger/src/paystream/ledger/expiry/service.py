"""The jobs that act when time passes: expire lots (one `expire` entry per lot, exactly once,
into breakage at cost basis), send expiry notices (7 days and 1 day before, once per lot and
notice), and release holds whose time ran out.

Expiry is already exact at read time (a lot stops counting at the second it expires); the job
only writes down what happened, so it may run late without anyone seeing expired credits. It
locks the lots it expires with SKIP LOCKED: a lot a spend or hold is using right now is simply
taken at the next round (and that spend cannot touch it: it is no longer live).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

import asyncpg

from paystream.ledger.books import repository as books
from paystream.ledger.books.domain import Tx
from paystream.ledger.holds.service import release_overdue
from paystream.ledger.journal import events
from paystream.ledger.journal.events import SOURCE, Keyed
from paystream.ledger.lots import repository as lots_repo
from paystream.ledger.refunds.service import apply_waiting_refunds
from paystream.ledger.thresholds.service import after_change
from paystream.shared.clock import Clock
from paystream.shared.db import transaction
from paystream.shared.events import CreditsExpiringV1, Envelope, credits_expiring_event_id
from paystream.shared.outbox import enqueue_many

EXPIRE_REASON = "expired"
NOTICES: tuple[tuple[Literal["7d", "1d"], timedelta, timedelta], ...] = (
    # (notice, from, to): a lot expiring in (now + from, now + to] gets this notice. Within a day
    # of its expiry a lot gets only the 1-day notice, even if the 7-day one was never sent.
    ("1d", timedelta(0), timedelta(days=1)),
    ("7d", timedelta(days=1), timedelta(days=7)),
)


class Expiring(Protocol):
    """What writing a lot's expiry reads of it (the job's lots and a rollover's ended ones)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def user_id(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def credits(self) -> int: ...
    @property
    def cost_minor(self) -> int: ...
    @property
    def cost_currency(self) -> str | None: ...


def expiry_tx(lot: Expiring, n: int, balance_after: int, at: datetime) -> Tx:
    """The transaction that writes the expiry of `n` credits of `lot`."""
    return Tx(
        id=uuid.uuid4(),
        kind="expire",
        user_id=lot.user_id,
        unit=lot.unit,
        credits=n,
        balance_after=balance_after,
        at=at,
        reason=EXPIRE_REASON,
        lots=((lot.id, n),),
        # Breakage at cost basis: the share of what the lot cost that expired unused.
        cost_minor=lot.cost_minor * n // lot.credits,
        cost_currency=lot.cost_currency,
    )


async def expire_lots(pool: asyncpg.Pool, clock: Clock, *, limit: int = 500) -> int:
    """Write the expiry of up to `limit` lots whose time passed; returns how many."""
    async with transaction(pool) as conn:
        now = clock.now()
        lots = await lots_repo.lock_expired(conn, now, limit)
        if not lots:
            return 0
        pairs = sorted({(lot.user_id, lot.unit) for lot in lots})
        # Expired lots no longer count, so writing their expiry changes no available balance.
        available = await lots_repo.available_of(conn, pairs, now)
        txs = [
            expiry_tx(lot, lot.remaining, available[(lot.user_id, lot.unit)], now) for lot in lots
        ]
        await books.write(conn, txs)
        await lots_repo.mark_expired(conn, [(t.lots[0][0], t.credits) for t in txs], now)
        expires = {lot.id: lot.expires_at for lot in lots}
        out: list[Keyed] = [events.expired(t, expires[t.lots[0][0]]) for t in txs]
        # The balance dropped when the lots expired: a threshold crossed then is announced now.
        out += await after_change(conn, available, now)
        await enqueue_many(conn, out)
        return len(txs)


async def send_notices(pool: asyncpg.Pool, clock: Clock, *, limit: int = 500) -> int:
    sent = 0
    async with transaction(pool) as conn:
        now = clock.now()
        for notice, start, end in NOTICES:
            lots = await lots_repo.expiring_between(conn, now + start, now + end, notice, limit)
            if not lots:
                continue
            recorded = await lots_repo.record_notices(conn, [(x.id, notice) for x in lots], now)
            lots = [x for x in lots if (x.id, notice) in recorded]
            available = await lots_repo.available_of(
                conn, sorted({(x.user_id, x.unit) for x in lots}), now
            )
            await enqueue_many(
                conn,
                [
                    (
                        x.user_id,
                        Envelope.wrap(
                            CreditsExpiringV1(
                                user_id=x.user_id,
                                unit=x.unit,
                                lot_id=x.id,
                                credits=x.remaining - x.held,
                                expires_at=x.expires_at,
                                notice=notice,
                                balance_after=available[(x.user_id, x.unit)],
                                noticed_at=now,
                            ),
                            source=SOURCE,
                            subject=x.user_id,
                            id=credits_expiring_event_id(x.id, notice),
                            time=now,
                        ),
                    )
                    for x in lots
                ],
            )
            sent += len(lots)
    return sent


@dataclass(frozen=True, slots=True)
class JobsRun:
    holds_released: int
    lots_expired: int
    notices_sent: int
    refunds_settled: int


async def run_jobs(pool: asyncpg.Pool, clock: Clock) -> JobsRun:
    """One round of every job, until each has nothing left: holds first (what they release
    from an expired lot expires in the same round), then expiries, then notices; last, refunds
    still waiting for a grant that has come (`refunds.service.apply_waiting_refunds`)."""
    released = expired = noticed = settled = 0
    while n := await release_overdue(pool, clock):
        released += n
    while n := await expire_lots(pool, clock):
        expired += n
    while n := await send_notices(pool, clock):
        noticed += n
    while n := await apply_waiting_refunds(pool, clock):
        settled += n
    return JobsRun(released, expired, noticed, settled)
