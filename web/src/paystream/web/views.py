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


# How a plan paid with each method renews (checkout's README, "Renewal, per payment method"):
# the methods a plan can be bought with. Checkout's GET /v1/payment-methods does not say which
# methods take plans, so the plans page offers these among those it lists for the currency.
PLAN_RENEWALS: dict[str, str] = {
    "stripe_checkout": "Stripe charges your card every period (Stripe Subscriptions).",
    "alipay_qr": "You pay a new order each period; we remind you before it ends.",
    "alipay_page": "You pay a new order each period; we remind you before it ends.",
    "wechat_pay_native": "You pay a new order each period; we remind you before it ends.",
    "usdt_trc20": "You pay a new order each period; we remind you before it ends.",
}

BILLING_LABELS = {
    "free": "Free: no payment",
    "stripe": "Renews automatically: Stripe charges your card each period",
    "manual": "Renews by a new order each period (we remind you before it ends)",
}


def duration(seconds: int) -> str:
    """`1_209_600` -> `14 days`, `90_000` -> `1 day 1 h`, `3_600` -> `1 h 0 min`."""
    days, rest = divmod(max(seconds, 0), 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    return f"{hours} h {rest // 60} min"
