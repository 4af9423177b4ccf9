"""`paystream verify`: reconcile the topics against the checkout, ledger and invoicing databases.

- every order with a `paystream.order.paid.v1` (on orders.events: checkout accepted its payment)
  has exactly one ledger grant (when it grants credits) for those credits, and exactly one
  invoice for what was paid; no grant or invoice exists without one;
- the order is the authority: every OrderPaidV1, and so every grant and invoice, matches its
  order in checkout's database (the credits it grants, what was paid), and every order checkout
  holds as paid has its OrderPaidV1; anything else is listed as an anomaly;
- every ledger transaction's postings sum to zero, and every account's balance equals the sum of
  its postings;
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
from paystream.shared.events import OrderPaidV1, RefundSucceededV1

SUCCEEDED = OrderPaidV1.TYPE.encode()
REFUNDED = RefundSucceededV1.TYPE.encode()
LIST_LIMIT = 1000
# The table in which a service records every refund it received, once per refund_key. Other
# tables with a `refund_key` (take-back transactions, credit notes) may have none for a refund
# (nothing left to take back), never two.
RECEIVED_REFUNDS = "refunds"  # differences listed per kind; counts are always complete

_GRANTS = """
SELECT order_id, count(*) AS n, sum(credits)::bigint AS credits
FROM transactions WHERE kind = 'grant' GROUP BY order_id
"""
_UNBALANCED = """
SELECT transaction_id::text AS transaction_id, sum(amount)::bigint AS total
FROM postings GROUP BY transaction_id HAVING sum(amount) <> 0
"""
_WITHOUT_POSTINGS = """
SELECT t.id::text AS transaction_id FROM transactions t
WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id)
"""
_BALANCES = """
SELECT coalesce(a.id, s.account_id) AS account_id, a.balance,
       coalesce(s.total, 0)::bigint AS postings_sum
FROM accounts a
FULL JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) s
  ON s.account_id = a.id
WHERE a.balance IS DISTINCT FROM coalesce(s.total, 0)
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
SELECT table_name FROM information_schema.columns
WHERE table_schema = 'public' AND column_name = 'refund_key' ORDER BY table_name
"""


async def _snapshot(conn: asyncpg.Connection, queries: dict[str, str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for name, sql in queries.items():
            out[name] = await conn.fetch(sql)
        tables = [r["table_name"] for r in await conn.fetch(_REFUND_TABLES)]
        for t in tables:
            out[f"refunds:{t}"] = await conn.fetch(
                f'SELECT refund_key, count(*) AS n FROM "{t}" '
                "WHERE refund_key IS NOT NULL GROUP BY refund_key"
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
            },
        )
    async with database(settings.dsn(invoicing_db)) as conn:
        invoicing = await _snapshot(conn, {"invoices": _INVOICES})
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

    grants = {r["order_id"]: (r["n"], r["credits"]) for r in ledger["grants"]}
    invoices = {r["order_id"]: r["n"] for r in invoicing["invoices"]}
    invoiced = {r["order_id"]: (r["amount_minor"], r["currency"]) for r in invoicing["invoices"]}
    orders = {r["order_id"]: r for r in checkout["orders"]}
    with_credits = {o for o, (cr, _, _) in payments.items() if cr > 0}

    missing_grants = sorted(with_credits - grants.keys())
    duplicate_grants = [
        {"order_id": o, "count": n} for o, (n, _) in sorted(grants.items()) if n > 1
    ]
    unexpected_grants = sorted(grants.keys() - with_credits)
    credit_mismatches = [
        {"order_id": o, "expected": payments[o][0], "granted": cr}
        for o, (n, cr) in sorted(grants.items())
        if o in with_credits and n == 1 and cr != payments[o][0]
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
        {"account_id": r["account_id"], "balance": r["balance"], "postings_sum": r["postings_sum"]}
        for r in ledger["balances"]
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
        "grants": sum(n for n, _ in grants.values()),
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
