"""The operator dashboard's numbers and charts, from checkout's and invoicing's admin APIs and
from Kafka."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from paystream.web import charts
from paystream.web.views import percent, seconds


def _height(amount: dict[str, str]) -> float:
    """How tall a bar is drawn: a drawing, not money (the tables show the exact amounts)."""
    return float(Decimal(amount["value"]))


def _day_series(
    rows: list[dict[str, Any]], key: str, value: Any
) -> tuple[list[str], dict[str, list[Any]]]:
    days = sorted({str(r["day"]) for r in rows})
    series: dict[str, list[Any]] = {}
    for r in rows:
        series.setdefault(str(r[key]), [None] * len(days))[days.index(str(r["day"]))] = value(r)
    return days, series


def build(
    payments: dict[str, Any],
    revenue: dict[str, Any],
    kafka: dict[str, Any],
    unmatched_refunds: dict[str, Any],
) -> dict[str, Any]:
    methods = payments["by_method"]
    review = payments["needs_review"]
    created = sum(m["created"] for m in methods)
    paid = sum(m["paid"] for m in methods)
    ended = created - sum(m["pending"] for m in methods)
    totals = {
        "orders": created,
        "paid": paid,
        "success_rate": percent(paid / ended if ended else None),
        # Everything an operator has to look at: each of them is listed below the figures.
        "needs_review": len(review["amount_mismatch"])
        + sum(u["transfers"] for u in review["usdt_transfers"])
        + sum(r["reviews"] for r in review["open_reviews"]),
        # The newest page of them (`more` when checkout has further pages).
        "unmatched_refunds": len(unmatched_refunds["items"]),
        "more_unmatched_refunds": unmatched_refunds.get("next_cursor") is not None,
        "dead_letters": sum(d["pending"] for d in kafka["dead_letters"]),
        "lag": sum(g["total_lag"] for g in kafka["groups"]),
    }
    names = [m["payment_method"] for m in methods]
    out: dict[str, Any] = {
        "payments": payments,
        "revenue": revenue,
        "kafka": kafka,
        "unmatched_refunds": unmatched_refunds["items"],
        "totals": totals,
        "percent": percent,
        "seconds": seconds,
        "charts": {},
    }
    c = out["charts"]
    if methods:
        c["success"] = charts.bars(
            "Payment success rate by method",
            names,
            {"success rate": [m["success_rate"] for m in methods]},
            percent=True,
        )
        c["time_to_paid"] = charts.bars(
            "Time from order to paid by method (seconds)",
            names,
            {
                "median": [m["median_seconds_to_paid"] for m in methods],
                "p95": [m["p95_seconds_to_paid"] for m in methods],
            },
        )
    if payments["by_day"]:
        days, series = _day_series(
            payments["by_day"], "payment_method", lambda r: r["success_rate"]
        )
        c["success_by_day"] = charts.lines(
            "Success rate per day by method", days, series, percent=True
        )
        days, series = _day_series(
            payments["by_day"], "payment_method", lambda r: r["median_seconds_to_paid"]
        )
        c["time_by_day"] = charts.lines("Median time to paid per day (seconds)", days, series)
    currencies = sorted({r["currency"] for r in revenue["days"]})
    c["revenue"] = []
    for cur in currencies:
        rows = [r for r in revenue["days"] if r["currency"] == cur]
        days, series = _day_series(
            rows, "provider", lambda r: float(Decimal(r["revenue"]["value"]))
        )
        _, refunds = _day_series(rows, "provider", lambda r: float(Decimal(r["refunds"]["value"])))
        for provider, values in refunds.items():
            if any(values):
                series[f"{provider} refunds"] = values
        # A chart is a drawing: the exact amounts are in the table beside it.
        c["revenue"].append(
            (cur, charts.bars(f"Revenue and refunds per day by provider ({cur})", days, series))
        )
    if payments["packages"]:
        c["packages"] = charts.bars(
            "Package popularity (paid orders)",
            [p["package_id"] for p in payments["packages"]],
            {"paid orders": [p["paid"] for p in payments["packages"]]},
            horizontal=True,
        )
    if payments["failure_reasons"]:
        c["failures"] = charts.bars(
            "Why orders were not paid",
            [f["reason"] for f in payments["failure_reasons"]],
            {"orders": [f["orders"] for f in payments["failure_reasons"]]},
            horizontal=True,
        )
    return out
