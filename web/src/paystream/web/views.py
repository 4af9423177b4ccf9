"""How pages say things: names of methods and statuses, amounts, dates, what an order's outcome
is. Pure functions, unit-tested."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

METHODS: dict[str, dict[str, str]] = {
    "stripe_checkout": {"name": "Card (Stripe Checkout)", "provider": "Stripe", "kind": "redirect"},
    "stripe_payment_intent": {
        "name": "Card and local methods (Stripe)",
        "provider": "Stripe",
        "kind": "elements",
    },
    "alipay_qr": {"name": "Alipay (scan a QR code)", "provider": "Alipay", "kind": "qr"},
    "alipay_page": {"name": "Alipay (website)", "provider": "Alipay", "kind": "redirect"},
    "wechat_pay_native": {
        "name": "WeChat Pay (scan a QR code)",
        "provider": "WeChat Pay",
        "kind": "qr",
    },
    "usdt_trc20": {"name": "USDT on TRON (TRC20)", "provider": "USDT (TRC20)", "kind": "crypto"},
}

STATUS_LABELS = {
    "pending": "Waiting for your payment",
    "paid": "Paid",
    "failed": "Payment failed",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "refunded": "Refunded",
    "partially_refunded": "Partly refunded",
}

KIND_LABELS = {"grant": "Purchase", "spend": "Spent", "revoke": "Refund taken back"}


def money(m: dict[str, str] | None) -> str:
    """`{"value": "1234.50", "currency": "CNY"}` -> `CNY 1,234.50` (the API's decimal string,
    grouped; never through a float)."""
    if not m:
        return ""
    whole, dot, frac = m["value"].partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{int(whole.lstrip('-') or '0'):,}"
    return f"{m['currency']} {sign}{grouped}{dot}{frac}"


def dt(value: str | datetime | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


def outcome(status: str, *, left_payment_page: bool = False) -> str:
    """Which result page an order shows: success, pending, left (came back from the payment
    page without paying), cancelled, expired or failed."""
    if status in ("paid", "partially_refunded", "refunded"):
        return "success"
    if status == "pending":
        return "left" if left_payment_page else "pending"
    return status if status in ("cancelled", "expired", "failed") else "pending"


def percent(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


def seconds(v: float | None) -> str:
    if v is None:
        return "-"
    if v < 90:
        return f"{v:.1f} s"
    return f"{v / 60:.1f} min"


def label(items: list[dict[str, Any]], key: str) -> list[str]:
    return [str(i[key]) for i in items]
