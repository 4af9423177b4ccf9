"""`paystream verify`: reconcile the topics against the ledger and invoicing databases.

- every order with a `paystream.order.paid.v1` (on `orders.events`) has exactly one ledger lot
  per grant line, for those credits; no order's lot exists without a paid order or a payment;
- every order with a `paystream.payment.succeeded.v1` has exactly one invoice; no invoice exists
  without one;
- every ledger transaction's postings sum to zero (and only holds and releases have none), every
  lot's `remaining` equals its credits plus its entries (consumption, expiries, voids,
  take-backs) and its `held` the sum of its held entries, what each user's postings hold in a
  unit equals what their lots hold, and no lot was spent or held after it expired (or before it
  started);
- when refunds exist (issue 3): every `paystream.refund.succeeded.v1` is recorded once in each
  database's `refunds` table, and no other table with a `refund_key` column (revoke
  transactions, credit notes) has one refund twice.

Set-based: one pass over the topic, a handful of GROUP BY queries, set differences in memory.
The databases are read first (one snapshot each), then the topic up to its end offsets at that
moment, so an event in flight shows as missing, never as unexpected.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import asyncpg
import orjson
from rich.console import Console
from rich.table import Table

from paystream.cli.connect import consumer, database
from paystream.cli.errors import NotFound
from paystream.cli.output import Result
from paystream.cli.reading import partitions_of, read_ranges
from paystream.cli.settings import OperatorSettings
from paystream.shared.events import OrderPaidV1, PaymentSucceededV1, RefundSucceededV1

SUCCEEDED = PaymentSucceededV1.TYPE.encode()
REFUNDED = RefundSucceededV1.TYPE.encode()
ORDER_PAID = OrderPaidV1.TYPE.encode()
LIST_LIMIT = 1000
# The table in which a service records every refund it received, once per refund_key. Other
# tables with a `refund_key` (take-back transactions, credit notes) may have none for a refund
# (nothing left to take back), never two.
RECEIVED_REFUNDS = "refunds"  # differences listed per kind; counts are always complete

# Per order: its lots (one per grant line), how many lines, and their credits.
_GRANTS = """
SELECT order_id, count(*) AS n, count(DISTINCT order_line) AS lines,
       sum(credits)::bigint AS credits
FROM lots WHERE order_id IS NOT NULL GROUP BY order_id
"""
_UNBALANCED = """
SELECT transaction_id::text AS transaction_id, sum(amount)::bigint AS total
FROM postings GROUP BY transaction_id HAVING sum(amount) <> 0
"""
_WITHOUT_POSTINGS = """
SELECT t.id::text AS transaction_id FROM transactions t
WHERE t.kind NOT IN ('hold', 'release')
  AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id)
"""
# What each user's postings hold in a unit against what their lots hold (remaining credits).
_BALANCES = """
SELECT coalesce(p.account_id, 'user:' || l.user_id) AS account_id,
       coalesce(p.unit, l.unit) AS unit, coalesce(l.total, 0)::bigint AS balance,
       coalesce(p.total, 0)::bigint AS postings_sum
FROM (SELECT p.account_id, t.unit, sum(p.amount) AS total FROM postings p
      JOIN transactions t ON t.id = p.transaction_id
      WHERE p.account_id LIKE 'user:%' GROUP BY 1, 2) p
FULL JOIN (SELECT user_id, unit, sum(remaining) AS total FROM lots GROUP BY 1, 2) l
  ON p.account_id = 'user:' || l.user_id AND p.unit = l.unit
WHERE coalesce(p.total, 0) <> coalesce(l.total, 0)
"""
# Every lot's caches against its entries: remaining = credits + entries, held = held entries.
_LOTS = """
SELECT l.id::text AS lot_id, l.credits, l.remaining, l.held,
       (l.credits + coalesce(e.delta, 0))::bigint AS expected_remaining,
       coalesce(e.held, 0)::bigint AS expected_held
FROM lots l
LEFT JOIN (SELECT lot_id, sum(delta) AS delta, sum(held_delta) AS held FROM lot_entries
           GROUP BY lot_id) e ON e.lot_id = l.id
WHERE l.remaining <> l.credits + coalesce(e.delta, 0) OR l.held <> coalesce(e.held, 0)
"""
# Spends and holds that took credits of a lot that had expired (or had not started) then.
# Captures may follow an expiry: the hold took the credits while the lot counted.
_AFTER_EXPIRY = """
SELECT e.lot_id::text AS lot_id, e.transaction_id::text AS transaction_id, e.kind,
       e.at, l.effective_at, l.expires_at
FROM lot_entries e JOIN lots l ON l.id = e.lot_id
WHERE e.kind IN ('spend', 'hold') AND (e.at >= l.expires_at OR e.at < l.effective_at)
"""
_LOT_COUNT = "SELECT count(*) AS n FROM lots"
_GRANT_COUNT = "SELECT count(*) AS n FROM transactions WHERE kind = 'grant'"
_INVOICES = "SELECT order_id, count(*) AS n FROM invoices GROUP BY order_id"
_REFUND_TABLES = """
SELECT table_name,
       EXISTS (SELECT 1 FROM information_schema.columns u WHERE u.table_schema = 'public'
               AND u.table_name = c.table_name AND u.column_name = 'unit') AS has_unit
FROM information_schema.columns c
WHERE table_schema = 'public' AND column_name = 'refund_key' ORDER BY table_name
"""


async def _snapshot(conn: asyncpg.Connection, queries: dict[str, str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for name, sql in queries.items():
            out[name] = await conn.fetch(sql)
        for t in await conn.fetch(_REFUND_TABLES):
            # A refund is recorded once per unit where the table keeps one (the ledger assesses
            # a refund per unit of the order's lots).
            per = "refund_key, unit" if t["has_unit"] else "refund_key"
            out[f"refunds:{t['table_name']}"] = await conn.fetch(
                f'SELECT refund_key, count(*) AS n FROM "{t["table_name"]}" '
                f"WHERE refund_key IS NOT NULL GROUP BY {per}"
            )
    return out


def _capped(items: list[Any]) -> list[Any]:
    return items[:LIST_LIMIT]


async def _read(settings: OperatorSettings, topic: str, wanted: tuple[bytes, ...], on: Any) -> int:
    """Call `on(kind, data)` for every event of the wanted types; returns how many records could
    not be read."""
    unreadable = 0
    async with consumer(settings) as c:
        tps = await partitions_of(c, topic)
        if not tps:
            raise NotFound(f"topic {topic!r} does not exist")
        ends = await c.end_offsets(tps)
        begins = await c.beginning_offsets(tps)
        async for recs in read_ranges(c, {tp: (begins[tp], ends[tp]) for tp in tps}):
            for rec in recs:
                ce_type = next((v for k, v in (rec.headers or ()) if k == "ce_type"), None)
                if ce_type is not None and ce_type not in wanted:
                    continue  # most records: skip without parsing
                try:
                    doc = orjson.loads(rec.value or b"")
                    kind = doc["type"].encode()
                    if kind in wanted:
                        on(kind, doc["data"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                    unreadable += 1  # a poison record: the consumers dead-letter it too
    return unreadable


async def verify(
    settings: OperatorSettings,
    *,
    topic: str,
    orders_topic: str,
    ledger_db: str,
    invoicing_db: str,
) -> Result:
    started = time.perf_counter()
    async with database(settings.dsn(ledger_db)) as conn:
        ledger = await _snapshot(
            conn,
            {
                "grants": _GRANTS,
                "unbalanced": _UNBALANCED,
                "without_postings": _WITHOUT_POSTINGS,
                "balances": _BALANCES,
                "lots": _LOTS,
                "after_expiry": _AFTER_EXPIRY,
                "lot_count": _LOT_COUNT,
                "grant_count": _GRANT_COUNT,
            },
        )
    async with database(settings.dsn(invoicing_db)) as conn:
        invoicing = await _snapshot(conn, {"invoices": _INVOICES})

    # order_id -> credits of its first succeeded payment event; refund keys.
    payments: dict[str, int] = {}
    refunds: set[str] = set()
    counted = {"payment_events": 0, "paid_order_events": 0}

    def on_payment(kind: bytes, data: dict[str, Any]) -> None:
        if kind == SUCCEEDED:
            counted["payment_events"] += 1
            payments.setdefault(str(data["order_id"]), int(data["credits"]))
        elif kind == REFUNDED:
            refunds.add(f"{data['provider']}:{data['provider_refund_id']}")

    # order_id -> (grant lines, credits) of its first paid-order event.
    paid_orders: dict[str, tuple[int, int]] = {}

    def on_order(kind: bytes, data: dict[str, Any]) -> None:
        counted["paid_order_events"] += 1
        grants = list(data["grants"])
        paid_orders.setdefault(
            str(data["order_id"]), (len(grants), sum(int(g["quantity"]) for g in grants))
        )

    unreadable = await _read(settings, topic, (SUCCEEDED, REFUNDED), on_payment)
    unreadable += await _read(settings, orders_topic, (ORDER_PAID,), on_order)

    grants = {r["order_id"]: (r["n"], r["lines"], r["credits"]) for r in ledger["grants"]}
    invoices = {r["order_id"]: r["n"] for r in invoicing["invoices"]}
    with_credits = {o for o, cr in payments.items() if cr > 0}
    granting = {o for o, (lines, _) in paid_orders.items() if lines > 0}

    missing_grants = sorted(granting - grants.keys())
    duplicate_grants = [
        {"order_id": o, "count": n - lines + 1}
        for o, (n, lines, _) in sorted(grants.items())
        if n > lines
    ]
    # Lots of orders the ledger granted before orders.events announced paid orders come from
    # their payments.
    unexpected_grants = sorted(grants.keys() - granting - with_credits)
    credit_mismatches = [
        {"order_id": o, "expected": paid_orders[o][1], "granted": cr}
        for o, (n, lines, cr) in sorted(grants.items())
        if o in granting and n == lines and cr != paid_orders[o][1]
    ]
    missing_invoices = sorted(payments.keys() - invoices.keys())
    duplicate_invoices = [{"order_id": o, "count": n} for o, n in sorted(invoices.items()) if n > 1]
    unexpected_invoices = sorted(invoices.keys() - payments.keys())
    unbalanced = [
        {"transaction_id": r["transaction_id"], "sum": r["total"]} for r in ledger["unbalanced"]
    ]
    without_postings = [r["transaction_id"] for r in ledger["without_postings"]]
    balance_mismatches = [
        {
            "account_id": r["account_id"],
            "unit": r["unit"],
            "balance": r["balance"],
            "postings_sum": r["postings_sum"],
        }
        for r in ledger["balances"]
    ]
    lot_mismatches = [
        {
            "lot_id": r["lot_id"],
            "remaining": r["remaining"],
            "expected_remaining": r["expected_remaining"],
            "held": r["held"],
            "expected_held": r["expected_held"],
        }
        for r in ledger["lots"]
    ]
    consumed_after_expiry = [
        {
            "lot_id": r["lot_id"],
            "transaction_id": r["transaction_id"],
            "kind": r["kind"],
            "at": r["at"].isoformat(),
            "expires_at": r["expires_at"].isoformat() if r["expires_at"] else None,
        }
        for r in ledger["after_expiry"]
    ]

    refund_tables = [
        (db, key.removeprefix("refunds:"), rows)
        for db, snap in (("ledger", ledger), ("invoicing", invoicing))
        for key, rows in snap.items()
        if key.startswith("refunds:")
    ]
    missing_takebacks: list[dict[str, Any]] = []
    duplicate_takebacks: list[dict[str, Any]] = []
    for db, table, rows in refund_tables:
        counts = Counter({r["refund_key"]: r["n"] for r in rows})
        name = f"{db}.{table}"
        if table == RECEIVED_REFUNDS:
            # Each service records every refund it learnt of, once.
            missing_takebacks += [
                {"table": name, "refund_key": k} for k in sorted(refunds - counts.keys())
            ]
        duplicate_takebacks += [
            {"table": name, "refund_key": k, "count": n} for k, n in sorted(counts.items()) if n > 1
        ]

    lists: dict[str, list[Any]] = {
        "missing_grants": missing_grants,
        "duplicate_grants": duplicate_grants,
        "unexpected_grants": unexpected_grants,
        "grant_credit_mismatches": credit_mismatches,
        "missing_invoices": missing_invoices,
        "duplicate_invoices": duplicate_invoices,
        "unexpected_invoices": unexpected_invoices,
        "unbalanced_transactions": unbalanced,
        "transactions_without_postings": without_postings,
        "balance_mismatches": balance_mismatches,
        "lot_mismatches": lot_mismatches,
        "consumed_after_expiry": consumed_after_expiry,
    }
    differences = (
        sum(len(v) for v in lists.values()) + len(missing_takebacks) + len(duplicate_takebacks)
    )
    return {
        "ok": differences == 0,
        "topic": topic,
        "orders_topic": orders_topic,
        "elapsed_s": round(time.perf_counter() - started, 3),
        "payment_events": counted["payment_events"],
        "payments": len(payments),
        "payments_with_credits": len(with_credits),
        "paid_order_events": counted["paid_order_events"],
        "paid_orders": len(paid_orders),
        "grants": ledger["grant_count"][0]["n"],
        "lots": ledger["lot_count"][0]["n"],
        "invoices": sum(invoices.values()),
        "unreadable_events": unreadable,
        **{k: _capped(v) for k, v in lists.items()},
        "refunds": {
            "checked": bool(refund_tables),
            "refunds": len(refunds),
            "tables": [f"{db}.{t}" for db, t, _ in refund_tables],
            "missing_takebacks": _capped(missing_takebacks),
            "duplicate_takebacks": _capped(duplicate_takebacks),
        },
        "differences": differences,
    }


def render(result: Result, out: Console) -> None:
    table = Table(title=f"verify {result['topic']}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for k in (
        "payment_events",
        "payments",
        "payments_with_credits",
        "paid_orders",
        "grants",
        "lots",
        "invoices",
    ):
        table.add_row(k.replace("_", " "), str(result[k]))
    out.print(table)
    kinds = [
        "missing_grants",
        "duplicate_grants",
        "unexpected_grants",
        "grant_credit_mismatches",
        "missing_invoices",
        "duplicate_invoices",
        "unexpected_invoices",
        "unbalanced_transactions",
        "transactions_without_postings",
        "balance_mismatches",
        "lot_mismatches",
        "consumed_after_expiry",
    ]
    ref = result["refunds"]
    sections = [(k, result[k]) for k in kinds] + [
        ("missing_takebacks", ref["missing_takebacks"]),
        ("duplicate_takebacks", ref["duplicate_takebacks"]),
    ]
    for name, items in sections:
        if items:
            out.print(f"[red]{name.replace('_', ' ')}: {len(items)}[/]")
            for item in items[:50]:
                out.print(f"  {item}", highlight=False, markup=False)
    if result["unreadable_events"]:
        out.print(f"[yellow]unreadable events in the topic: {result['unreadable_events']}[/]")
    if ref["checked"]:
        out.print(f"refunds: {ref['refunds']} checked in {', '.join(ref['tables'])}")
    if result["ok"]:
        out.print(f"[green]OK[/]: no difference ({result['elapsed_s']}s)")
    else:
        out.print(f"[red]NOT OK[/]: {result['differences']} difference(s) ({result['elapsed_s']}s)")
