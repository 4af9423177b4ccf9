"""Thresholds: after every change of available balances, announce the ones that crossed below;
and the use case that sets a threshold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from paystream.ledger.journal.events import SOURCE, Keyed, balance_low
from paystream.ledger.lots import repository as lots_repo
from paystream.ledger.thresholds import repository
from paystream.ledger.thresholds.domain import ThresholdState, crossings, is_below
from paystream.shared.db import Connection, transaction
from paystream.shared.events import BalanceThresholdSetV1, Envelope
from paystream.shared.outbox import enqueue_many

Pair = tuple[str, str]


async def after_change(
    conn: Connection,
    available: Mapping[Pair, int],
    at: datetime,
    *,
    states: Mapping[Pair, ThresholdState] | None = None,
) -> list[Keyed]:
    """Move the `below` flags of these balances; returns the balance.low events to publish.

    Inside the writer's transaction, after it locked the lots (the one lock order: lots, then
    thresholds). Costs one indexed lookup when no threshold is set, none when the caller already
    locked and read the `states`.
    """
    if not available:
        return []
    if states is None:
        states = await repository.lock_states(conn, sorted(available))
    if not states:
        return []
    changed, crossed = crossings(states, available)
    if changed:
        await repository.set_below(conn, changed)
    return [
        balance_low(user, unit, states[(user, unit)].threshold, available[(user, unit)], at)
        for user, unit in crossed
    ]


@dataclass(frozen=True, slots=True)
class ThresholdSet:
    user_id: str
    unit: str
    threshold: int | None
    available: int
    below: bool


async def set_threshold(
    pool: asyncpg.Pool,
    *,
    user_id: str,
    unit: str,
    threshold: int | None,
    actor: str,
    at: datetime,
) -> ThresholdSet:
    """Set (or remove) a threshold. A balance already under the new threshold is below at once,
    and announced."""
    async with transaction(pool) as conn:
        return await put_threshold(
            conn, user_id=user_id, unit=unit, threshold=threshold, actor=actor, at=at
        )


async def put_threshold(
    conn: Connection,
    *,
    user_id: str,
    unit: str,
    threshold: int | None,
    actor: str,
    at: datetime,
) -> ThresholdSet:
    """`set_threshold` inside the caller's transaction (the consumer's, for checkout's
    auto-recharge settings)."""
    pair = (user_id, unit)
    await repository.lock_states(conn, [pair])
    available = (await lots_repo.available_of(conn, [pair], at))[pair]
    below = threshold is not None and is_below(available, threshold)
    previous = (await repository.of_user(conn, user_id)).get(unit, ThresholdState(0, False))
    await repository.put(conn, pair, threshold, below, actor=actor, at=at)
    events: list[Keyed] = [
        (
            user_id,
            Envelope.wrap(
                BalanceThresholdSetV1(
                    user_id=user_id,
                    unit=unit,
                    threshold=threshold,
                    below=below,
                    actor=actor,
                    set_at=at,
                ),
                source=SOURCE,
                subject=user_id,
                time=at,
            ),
        )
    ]
    if below and not previous.below and threshold is not None:
        events.append(balance_low(user_id, unit, threshold, available, at))
    await enqueue_many(conn, events)
    return ThresholdSet(user_id, unit, threshold, available, below)


async def thresholds_of(
    pool: asyncpg.Pool, user_id: str, at: datetime
) -> list[tuple[str, int, int, bool]]:
    """(unit, threshold, available, below) of each threshold the user has."""
    async with pool.acquire() as conn:
        states = await repository.of_user(conn, user_id)
        available = await lots_repo.available_of(conn, [(user_id, u) for u in states], at)
    return [(u, s.threshold, available[(user_id, u)], s.below) for u, s in sorted(states.items())]
