"""`paystream verify`: reconcile the topics against the checkout, ledger and invoicing databases.

- every order with a `paystream.order.paid.v1` (on orders.events: checkout accepted its payment)
  has exactly one ledger grant (when it grants credits) for those credits, and exactly one
  invoice for what was paid; no grant or invoice exists without one;
- the order is the authority: every OrderPaidV1, and so every grant and invoice, matches its
  order in checkout's database (the credits it grants, what was paid), and every order checkout
  holds as paid has its OrderPaidV1; anything else is listed as an anomaly;
- every ledger transaction's postings sum to zero (and only holds and releases have none), every
  lot's `remaining` equals its credits plus its entries (consumption, expiries, voids,
  take-backs) and its `held` the sum of its held entries, what each user's postings hold in a
  unit equals what their lots hold, and no lot was spent or held after it expired (or before it
  started);
- when refunds exist (issue 3): every `paystream.refund.succeeded.v1` is recorded once in each
  database's `refunds` table, and no other table with a `refund_key` column (revoke
  transactions, credit notes) has one refund twice; no refund still waits (`pending`) for a grant
  or an invoice its order already has (a grant and its refund applied by two processes at once:
  the ledger's jobs and invoicing's sweep settle these, so one listed here is one they have not
  reached yet, or could not settle).

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
from paystream.shared.events import OrderPaidV1, RefundSucceededV1

SUCCEEDED = OrderPaidV1.TYPE.encode()
REFUNDED = RefundSucceededV1.TYPE.encode()
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
# Refunds waiting for a grant (ledger) or an invoice (invoicing) that their order already has.
_WAITING_BESIDE_LOTS = """
SELECT r.refund_key, r.order_id FROM refunds r
WHERE r.status = 'pending' AND EXISTS (SELECT 1 FROM lots l WHERE l.order_id = r.order_id)
ORDER BY r.refund_key
"""
_WAITING_BESIDE_INVOICES = """
SELECT r.refund_key, r.order_id FROM refunds r
WHERE r.status = 'pending' AND EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = r.order_id)
ORDER BY r.refund_key
"""
_COUNTS = """
SELECT (SELECT count(*) FROM lots) AS lots,
       (SELECT count(*) FROM transactions WHERE kind = 'grant') AS grants
"""
_INVOICES = """
SELECT order_id, count(*) AS n, min(amount_minor)::bigint AS amount_minor, min(currency) AS currency
FROM invoices GROUP BY order_id
"""
# Checkout's orders that took a payment: what each grants and what was paid.
_ORDERS = """
SELECT id::text AS order_id, status,
       (SELECT coalesce(sum((g->>'quantity')::bigint), 0)::bigint
        FROM jsonb_array_elements(grants) g) AS credits,
       paid_amount_minor, paid_currency
FROM orders WHERE status IN ('paid', 'partially_refunded', 'refunded', 'needs_review')
"""
PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})
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


async def verify(
    settings: OperatorSettings,
    *,
    topics: list[str],
    ledger_db: str,
    invoicing_db: str,
    checkout_db: str,
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
                "waiting": _WAITING_BESIDE_LOTS,
                "counts": _COUNTS,
            },
        )
    async with database(settings.dsn(invoicing_db)) as conn:
        invoicing = await _snapshot(
            conn, {"invoices": _INVOICES, "waiting": _WAITING_BESIDE_INVOICES}
        )
    async with database(settings.dsn(checkout_db)) as conn:
        checkout = await _snapshot(conn, {"orders": _ORDERS})

    # order_id -> (credits, paid minor, paid currency) of its OrderPaidV1; refund keys.
    payments: dict[str, tuple[int, int, str]] = {}
    payment_events = 0
    refunds: set[str] = set()
    unreadable = 0
    async with consumer(settings) as c:
        for topic in topics:
            tps = await partitions_of(c, topic)
            if not tps:
                raise NotFound(f"topic {topic!r} does not exist")
            ends = await c.end_offsets(tps)
            begins = await c.beginning_offsets(tps)
            async for recs in read_ranges(c, {tp: (begins[tp], ends[tp]) for tp in tps}):
                for rec in recs:
                    ce_type = next((v for k, v in (rec.headers or ()) if k == "ce_type"), None)
                    if ce_type is not None and ce_type not in (SUCCEEDED, REFUNDED):
                        continue  # most records: skip without parsing
                    try:
                        doc = orjson.loads(rec.value or b"")
                        kind = doc["type"].encode()
                        data = doc["data"]
                        if kind == SUCCEEDED:
                            payment_events += 1
                            payments.setdefault(
                                str(data["order_id"]),
                                (
                                    sum(int(g["quantity"]) for g in data["grants"]),
                                    int(data["paid_minor"]),
                                    str(data["paid_currency"]),
                                ),
                            )
                        elif kind == REFUNDED:
                            refunds.add(f"{data['provider']}:{data['provider_refund_id']}")
                    except (
                        orjson.JSONDecodeError,
                        KeyError,
                        TypeError,
                        ValueError,
                        AttributeError,
                    ):
                        unreadable += 1  # a poison record: the consumers dead-letter it too

    # order -> (lots, grant lines, credits): one lot per line, so more lots than lines is a
    # line granted twice.
    grants = {r["order_id"]: (r["n"], r["lines"], r["credits"]) for r in ledger["grants"]}
    invoices = {r["order_id"]: r["n"] for r in invoicing["invoices"]}
    invoiced = {r["order_id"]: (r["amount_minor"], r["currency"]) for r in invoicing["invoices"]}
    orders = {r["order_id"]: r for r in checkout["orders"]}
    with_credits = {o for o, (cr, _, _) in payments.items() if cr > 0}

    missing_grants = sorted(with_credits - grants.keys())
    duplicate_grants = [
        {"order_id": o, "count": n - lines + 1}
        for o, (n, lines, _) in sorted(grants.items())
        if n > lines
    ]
    unexpected_grants = sorted(grants.keys() - with_credits)
    credit_mismatches = [
        {"order_id": o, "expected": payments[o][0], "granted": cr}
        for o, (n, lines, cr) in sorted(grants.items())
        if o in with_credits and n == lines and cr != payments[o][0]
    ]
    invoice_amount_mismatches = [
        {"order_id": o, "paid": list(payments[o][1:]), "invoiced": list(invoiced[o])}
        for o in sorted(invoiced.keys() & payments.keys())
        if invoiced[o] != payments[o][1:]
    ]
    # The order is the authority: what was granted and invoiced is what checkout holds.
    order_anomalies: list[dict[str, Any]] = []
    for o, (credits, paid_minor, paid_currency) in sorted(payments.items()):
        order = orders.get(o)
        if order is None:
            order_anomalies.append({"order_id": o, "anomaly": "no such order in checkout"})
        elif order["status"] not in PAID_STATUSES:
            order_anomalies.append(
                {"order_id": o, "anomaly": f"granted, but the order is {order['status']}"}
            )
        elif credits != order["credits"]:
            order_anomalies.append(
                {
                    "order_id": o,
                    "anomaly": "credits differ",
                    "order": order["credits"],
                    "granted": credits,
                }
            )
        elif (paid_minor, paid_currency) != (order["paid_amount_minor"], order["paid_currency"]):
            order_anomalies.append(
                {
                    "order_id": o,
                    "anomaly": "paid amount differs",
                    "order": [order["paid_amount_minor"], order["paid_currency"]],
                    "event": [paid_minor, paid_currency],
                }
            )
    order_anomalies += [
        {"order_id": o, "anomaly": "paid in checkout, but no order.paid event"}
        for o, r in sorted(orders.items())
        if r["status"] in PAID_STATUSES and o not in payments
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
        "invoice_amount_mismatches": invoice_amount_mismatches,
        "order_anomalies": order_anomalies,
        "missing_invoices": missing_invoices,
        "duplicate_invoices": duplicate_invoices,
        "unexpected_invoices": unexpected_invoices,
        "unbalanced_transactions": unbalanced,
        "transactions_without_postings": without_postings,
        "balance_mismatches": balance_mismatches,
        "lot_mismatches": lot_mismatches,
        "consumed_after_expiry": consumed_after_expiry,
        "refunds_waiting_beside_grants": [dict(r) for r in ledger["waiting"]],
        "refunds_waiting_beside_invoices": [dict(r) for r in invoicing["waiting"]],
    }
    differences = (
        sum(len(v) for v in lists.values()) + len(missing_takebacks) + len(duplicate_takebacks)
    )
    return {
        "ok": differences == 0,
        "topics": topics,
        "elapsed_s": round(time.perf_counter() - started, 3),
        "payment_events": payment_events,
        "payments": len(payments),
        "payments_with_credits": len(with_credits),
        "orders_in_review": sum(1 for r in orders.values() if r["status"] == "needs_review"),
        "grants": ledger["counts"][0]["grants"],
        "lots": ledger["counts"][0]["lots"],
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
    table = Table(title=f"verify {', '.join(result['topics'])}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for k in (
        "payment_events",
        "payments",
        "payments_with_credits",
        "grants",
        "lots",
        "invoices",
        "orders_in_review",
    ):
        table.add_row(k.replace("_", " "), str(result[k]))
    out.print(table)
    kinds = [
        "missing_grants",
        "duplicate_grants",
        "unexpected_grants",
        "grant_credit_mismatches",
        "invoice_amount_mismatches",
        "order_anomalies",
        "missing_invoices",
        "duplicate_invoices",
        "unexpected_invoices",
        "unbalanced_transactions",
        "transactions_without_postings",
        "balance_mismatches",
        "lot_mismatches",
        "consumed_after_expiry",
        "refunds_waiting_beside_grants",
        "refunds_waiting_beside_invoices",
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
