"""`paystream reconcile`: the daily settlement report and the reconciler's status, both read from
checkout's admin API (checkout holds the provider credentials and the orders and refunds the
lines are matched against).

`--date D` asks checkout to match the providers' settlement data for day D against paid orders
and refunds, then finds each one's invoice or credit note in invoicing's database (as `verify`
reads it), prints the summary, writes every line to a CSV file and exits 1 when any line or
document does not match. `status` shows the pending orders and refunds the reconciler is asking
providers about.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.table import Table

from paystream.cli.connect import database
from paystream.cli.errors import BadInput, CliError, DatabaseUnreachable, NotFound, Refused
from paystream.cli.output import Result
from paystream.cli.settings import OperatorSettings

CSV_COLUMNS = (
    "provider",
    "kind",
    "reference",
    "outcome",
    "currency",
    "provider_amount_minor",
    "booked_amount_minor",
    "fee_minor",
    "order_id",
    "refund_id",
    "provider_id",
    "at",
    "document",
    "document_amount_minor",
    "document_outcome",
)

# Invoices by order, credit notes by paystream's refund id (invoicing's own tables: one invoice
# per order, one credit note per refund).
_INVOICES = """
SELECT order_id AS key, number, amount_minor, currency FROM invoices
WHERE order_id = ANY($1::text[])
"""
_CREDIT_NOTES = """
SELECT refund_id AS key, number, amount_minor, currency FROM credit_notes
WHERE refund_id = ANY($1::text[])
"""


class CheckoutUnreachable(DatabaseUnreachable):
    code = "checkout_unreachable"


class ProviderUnavailable(CliError):
    exit_code = 3
    code = "provider_unavailable"


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--date {text!r} is not a date (YYYY-MM-DD)") from None


async def _call(
    settings: OperatorSettings, token: str, method: str, path: str, **kw: Any
) -> dict[str, Any]:
    url = settings.checkout_url.rstrip("/") + path
    try:
        async with httpx.AsyncClient(timeout=settings.checkout_timeout_s) as http:
            r = await http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
    except httpx.TransportError as exc:
        raise CheckoutUnreachable(
            f"checkout at {settings.checkout_url} unreachable: {exc!r}"
        ) from None
    try:
        doc: dict[str, Any] = r.json()
    except ValueError:
        doc = {}
    if r.is_success:
        return doc
    err = doc.get("error") or {}
    message = f"checkout refused ({r.status_code} {err.get('code')}): {err.get('message')}"
    if r.status_code in (401, 403):
        raise Refused(message)
    if r.status_code == 404:
        raise NotFound(message)
    if r.status_code in (400, 422):
        raise BadInput(message)
    if r.status_code in (502, 503, 504):
        raise ProviderUnavailable(message)
    raise CliError(message)


async def settle(
    settings: OperatorSettings,
    *,
    day: date,
    providers: list[str],
    csv_path: Path | None,
    token: str,
    invoicing_db: str | None,
) -> Result:
    body: dict[str, Any] = {"date": day.isoformat()}
    if providers:
        body["providers"] = providers
    report = await _call(settings, token, "POST", "/v1/admin/settlements", json=body)
    if invoicing_db is not None:
        async with database(settings.dsn(invoicing_db)) as conn:
            report["documents"] = await attach_documents(conn, report["lines"])
        report["ok"] = report["ok"] and not (
            report["documents"]["missing"] or report["documents"]["differs"]
        )
    path = csv_path or Path(f"settlement-{day.isoformat()}.csv")
    write_csv(path, report["lines"])
    report["csv"] = str(path)
    return report


async def attach_documents(conn: asyncpg.Connection, lines: list[dict[str, Any]]) -> dict[str, int]:
    """Each line paystream booked gets its invoice (payment) or credit note (refund):
    `document_outcome` matched, missing, or differs (its amount is not what was booked)."""
    invoices = {
        r["key"]: r
        for r in await conn.fetch(
            _INVOICES, [x["order_id"] for x in lines if x["kind"] == "payment" and x["order_id"]]
        )
    }
    notes = {
        r["key"]: r
        for r in await conn.fetch(
            _CREDIT_NOTES,
            [x["refund_id"] for x in lines if x["kind"] == "refund" and x["refund_id"]],
        )
    }
    counts = {"matched": 0, "missing": 0, "differs": 0}
    for x in lines:
        key = x["order_id"] if x["kind"] == "payment" else x["refund_id"]
        if key is None:  # nothing booked: nothing to document
            x["document"] = x["document_amount_minor"] = x["document_outcome"] = None
            continue
        doc = (invoices if x["kind"] == "payment" else notes).get(key)
        if doc is None:
            outcome = "missing"
        elif (doc["amount_minor"], doc["currency"]) != (x["booked_amount_minor"], x["currency"]):
            outcome = "differs"
        else:
            outcome = "matched"
        counts[outcome] += 1
        x["document"] = None if doc is None else doc["number"]
        x["document_amount_minor"] = None if doc is None else doc["amount_minor"]
        x["document_outcome"] = outcome
    return counts


def write_csv(path: Path, lines: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for line in lines:
            w.writerow({k: "" if line.get(k) is None else line[k] for k in CSV_COLUMNS})


def render_settlement(result: Result, out: Console) -> None:
    table = Table(title=f"settlement of {result['date']}")
    for col in ("provider", "matched", "amount differs", "missing in paystream",
                "missing at provider", "fees"):  # fmt: skip
        table.add_column(col)
    for p in result["providers"]:
        c = p["counts"]
        fees = ", ".join(f"{v} {k} (minor)" for k, v in sorted(p["fees_minor"].items()))
        table.add_row(
            p["provider"],
            str(c["matched"]),
            *(
                f"[red]{c[k]}[/]" if c[k] else "0"
                for k in ("amount_differs", "missing_in_paystream", "missing_at_provider")
            ),
            fees or "-",
        )
    out.print(table)
    for line in result["lines"]:
        if line["outcome"] != "matched":
            out.print(
                f"[red]{line['outcome']}[/] {line['provider']} {line['kind']} "
                f"{line['reference']}: provider {line['provider_amount_minor']}, "
                f"paystream {line['booked_amount_minor']} {line['currency']} (minor)"
            )
        if line.get("document_outcome") in ("missing", "differs"):
            what = "invoice" if line["kind"] == "payment" else "credit note"
            out.print(
                f"[red]{what} {line['document_outcome']}[/] {line['provider']} "
                f"{line['reference']}: booked {line['booked_amount_minor']}, "
                f"{what} {line['document']} {line['document_amount_minor']} (minor)"
            )
    if "documents" in result:
        d = result["documents"]
        out.print(
            f"invoices and credit notes: {d['matched']} matched, {d['missing']} missing, "
            f"{d['differs']} differ"
        )
    out.print(f"every line: {result['csv']}")
    out.print("[green]all matched[/]" if result["ok"] else "[red]differences found[/]")


async def status(settings: OperatorSettings, *, limit: int, token: str) -> Result:
    return await _call(settings, token, "GET", "/v1/admin/reconcile", params={"limit": limit})


def render_status(result: Result, out: Console) -> None:
    table = Table(
        title=f"reconciler: {result['pending_orders']} pending orders, "
        f"{result['pending_refunds']} pending refunds"
    )
    for col in ("kind", "id", "provider", "created", "attempts", "last asked", "next check",
                "last result"):  # fmt: skip
        table.add_column(col)
    for x in result["items"]:
        table.add_row(
            x["kind"],
            x["id"],
            x["provider"] or "-",
            x["created_at"],
            str(x["attempts"]),
            x["checked_at"] or "-",
            x["next_check_at"] or "when old enough",
            x["last_result"] or "-",
        )
    out.print(table)
