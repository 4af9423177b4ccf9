"""The thresholds' SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from paystream.ledger.thresholds.domain import ThresholdState
from paystream.shared.db import Connection

Pair = tuple[str, str]


async def lock_states(conn: Connection, pairs: Sequence[Pair]) -> dict[Pair, ThresholdState]:
    """The thresholds set for these (user, unit) pairs, locked in (user, unit) order (after the
    lots: every writer locks lots first, then thresholds)."""
    rows = await conn.fetch(
        """
        SELECT user_id, unit, threshold, below FROM balance_thresholds
        WHERE (user_id, unit) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        ORDER BY user_id, unit
        FOR UPDATE
        """,
        [u for u, _ in pairs],
        [n for _, n in pairs],
    )
    return {(r["user_id"], r["unit"]): ThresholdState(r["threshold"], r["below"]) for r in rows}


async def set_below(conn: Connection, changes: Mapping[Pair, bool]) -> None:
    keys = sorted(changes)
    await conn.execute(
        """
        UPDATE balance_thresholds AS t SET below = d.below
        FROM unnest($1::text[], $2::text[], $3::bool[]) AS d (user_id, unit, below)
        WHERE t.user_id = d.user_id AND t.unit = d.unit
        """,
        [u for u, _ in keys],
        [n for _, n in keys],
        [changes[k] for k in keys],
    )


async def put(
    conn: Connection,
    pair: Pair,
    threshold: int | None,
    below: bool,
    *,
    actor: str,
    at: datetime,
) -> None:
    """Set (or remove, with None) a threshold and whether the balance is below it."""
    user_id, unit = pair
    if threshold is None:
        await conn.execute(
            "DELETE FROM balance_thresholds WHERE user_id = $1 AND unit = $2", user_id, unit
        )
        return
    await conn.execute(
        """
        INSERT INTO balance_thresholds (user_id, unit, threshold, below, updated_at, updated_by)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (user_id, unit) DO UPDATE SET threshold = EXCLUDED.threshold,
            below = EXCLUDED.below, updated_at = EXCLUDED.updated_at,
            updated_by = EXCLUDED.updated_by
        """,
        user_id,
        unit,
        threshold,
        below,
        at,
        actor,
    )


async def of_user(conn: Connection, user_id: str) -> dict[str, ThresholdState]:
    rows = await conn.fetch(
        "SELECT unit, threshold, below FROM balance_thresholds WHERE user_id = $1", user_id
    )
    return {r["unit"]: ThresholdState(r["threshold"], r["below"]) for r in rows}
