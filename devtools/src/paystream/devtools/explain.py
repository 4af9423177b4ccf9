"""What a query's plan read, from `EXPLAIN (ANALYZE, FORMAT JSON)`: for tests that pin a lookup
to index probes, whatever the planner's statistics say."""

from __future__ import annotations

import json
from typing import Any

from paystream.shared.db import Connection


async def explain_analyze(
    conn: Connection, sql: str, *args: object, plan_cache_mode: str | None = None
) -> dict[str, Any]:
    """The top plan node of `sql` run with `args` (the query is executed). `plan_cache_mode`
    `force_generic_plan` shows the plan a connection would cache for any arguments."""
    if plan_cache_mode is None:
        explained = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
    else:
        await conn.execute(f"SET plan_cache_mode = {plan_cache_mode}")
        try:
            explained = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
        finally:
            await conn.execute("RESET plan_cache_mode")
    # A pool with the services' codecs decodes json itself; a bare connection hands back text.
    doc = json.loads(explained) if isinstance(explained, str) else explained
    plan: dict[str, Any] = doc[0]["Plan"]
    return plan


def rows_read(plan: dict[str, Any], relation: str) -> float:
    """Rows the plan read from `relation`: produced plus filtered out, over all loops."""
    own = 0.0
    if plan.get("Relation Name") == relation:
        loops = plan.get("Actual Loops", 1)
        removed = plan.get("Rows Removed by Filter", 0) + plan.get(
            "Rows Removed by Index Recheck", 0
        )
        own = float((plan.get("Actual Rows", 0) + removed) * loops)
    # A join that filters what a scan of `relation` produced read those rows too.
    own += float(plan.get("Rows Removed by Join Filter", 0))
    return own + sum(rows_read(p, relation) for p in plan.get("Plans", []))


async def seq_rows_read(conn: Connection, table: str) -> int:
    """Rows the transaction open on `conn` has read from `table` by sequential scans so far:
    what a statement whose cached plan EXPLAIN cannot show (a trigger's, a prepared
    statement's) read, as the difference around it."""
    n = await conn.fetchval(
        "SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = $1", table
    )
    return int(n or 0)
