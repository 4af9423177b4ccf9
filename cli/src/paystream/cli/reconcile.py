"""`paystream reconcile`: the daily settlement report and the reconciler's status, both read from
checkout's admin API (checkout holds the provider credentials and the orders and refunds the
lines are matched against).

`--date D` asks checkout to match the providers' settlement data for day D, prints the summary,
writes every line to a CSV file and exits 1 when any line is not matched. `status` shows the
pending orders and refunds the reconciler is asking providers about.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

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
)


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
) -> Result:
    body: dict[str, Any] = {"date": day.isoformat()}
    if providers:
        body["providers"] = providers
    report = await _call(settings, token, "POST", "/v1/admin/settlements", json=body)
    path = csv_path or Path(f"settlement-{day.isoformat()}.csv")
    write_csv(path, report["lines"])
    report["csv"] = str(path)
    return report


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
