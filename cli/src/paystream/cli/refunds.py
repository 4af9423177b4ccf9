"""`paystream refunds unmatched`: the refunds a provider reported that checkout could not apply
(no order holds the payment, or only the payment's cumulative refunded total is known), read
from checkout's database like `verify`; the same list as checkout's
`GET /v1/admin/refunds/unmatched`. Exit 1 while any is open, so a scheduled run alerts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from paystream.cli.connect import database
from paystream.cli.output import Result
from paystream.cli.settings import OperatorSettings
from paystream.shared.money import Money

_UNMATCHED = """
SELECT id, provider, provider_refund_id, provider_payment_id, order_ref, user_id, amount_minor,
       refunded_total_minor, currency, reason, refunded_at, created_at, resolved_at
FROM unmatched_refunds
WHERE ($1::boolean OR resolved_at IS NULL)
ORDER BY created_at DESC, id DESC
LIMIT $2
"""


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else f"{Money(minor, currency).format()} {currency}"


async def unmatched(
    settings: OperatorSettings, *, checkout_db: str, include_resolved: bool, limit: int
) -> Result:
    async with database(settings.dsn(checkout_db)) as conn:
        rows = await conn.fetch(_UNMATCHED, include_resolved, limit)
    items: list[dict[str, Any]] = [
        {
            "id": str(r["id"]),
            "provider": r["provider"],
            "provider_refund_id": r["provider_refund_id"],
            "provider_payment_id": r["provider_payment_id"],
            "order_id": r["order_ref"],
            "user_id": r["user_id"],
            "amount": _money(r["amount_minor"], r["currency"]),
            "refunded_total": _money(r["refunded_total_minor"], r["currency"]),
            "reason": r["reason"],
            "refunded_at": r["refunded_at"].isoformat(),
            "resolved_at": None if r["resolved_at"] is None else r["resolved_at"].isoformat(),
        }
        for r in rows
    ]
    return {"items": items, "open": sum(1 for i in items if i["resolved_at"] is None)}


def render(result: Result, out: Console) -> None:
    if not result["items"]:
        out.print("[green]no unmatched refunds[/]")
        return
    table = Table(title="refunds reported by a provider that checkout could not apply")
    for col in ("provider", "refund", "payment", "order", "amount", "refunded at", "why"):
        table.add_column(col)
    for i in result["items"]:
        amount = i["amount"] or f"total {i['refunded_total']}"
        why = i["reason"] if i["resolved_at"] is None else f"(resolved) {i['reason']}"
        table.add_row(
            i["provider"],
            i["provider_refund_id"],
            i["provider_payment_id"] or "",
            i["order_id"] or "",
            amount,
            i["refunded_at"],
            why,
        )
    out.print(table)
    if result["open"]:
        out.print(f"[red]{result['open']} open[/]: settle each at the provider or with the payer")
