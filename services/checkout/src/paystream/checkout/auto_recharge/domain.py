"""Auto-recharge's rules (pure): the settings' states, the caps, what each charge outcome does to
the attempt and the settings, and the retry backoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Literal

from paystream.checkout.providers.stripe_saved import ChargeResult
from paystream.shared.money import Money


class RechargeStatus(StrEnum):
    ACTIVE = "active"
    # A charge waits for the user to authenticate on-session; nothing more is charged meanwhile.
    REQUIRES_ACTION = "requires_action"
    # Stopped by a hard decline or exhausted retries; the user turns it on again with a PUT.
    DISABLED = "disabled"


AttemptStatus = Literal[
    "pending", "retrying", "processing", "requires_action", "succeeded", "failed", "skipped"
]
# An attempt in one of these may still charge: at most one per user and unit (a unique index).
IN_FLIGHT: Final = frozenset({"pending", "retrying", "processing", "requires_action"})
# What counts against the caps: what was charged or may still be.
COUNTED: Final = ("pending", "retrying", "processing", "requires_action", "succeeded")

# Recurring agreements (Alipay, WeChat Pay) and USDT cannot be charged off-session here.
REFUSED_METHODS: Final = frozenset(
    {
        "alipay",
        "alipay_qr",
        "alipay_page",
        "wechat_pay",
        "wechat_pay_native",
        "wechatpay",
        "usdt",
        "usdt_trc20",
    }
)
REFUSED_EXPLANATION: Final = (
    "auto-recharge charges a saved card off-session; Alipay and WeChat Pay recurring agreements "
    "and USDT cannot be charged that way here: save a card (POST /v1/payment-methods/setup)"
)


@dataclass(frozen=True, slots=True)
class AutoRechargeConfig:
    # A transient failure is tried again after backoff * 2^(tries - 1), at most backoff_max
    # apart, up to max_tries charges in all; then auto-recharge is disabled.
    max_tries: int = 4
    backoff: timedelta = timedelta(minutes=5)
    backoff_max: timedelta = timedelta(hours=6)
    # A claimed attempt whose worker died is taken again after this (same try: same key).
    lease: timedelta = timedelta(minutes=2)
    # Where the user completes a charge the bank wants to authenticate (`order_id` is added).
    action_url: str = "http://127.0.0.1:8000/cards"


@dataclass(frozen=True, slots=True)
class Purchase:
    """What a recharge buys: a package, or a product by quantity or for an amount."""

    package_id: str | None
    product_id: str | None
    quantity: int | None
    amount: Money | None
    currency: str


@dataclass(frozen=True, slots=True)
class Setting:
    user_id: str
    unit: str
    enabled: bool
    status: RechargeStatus
    threshold: int
    purchase: Purchase
    payment_method_id: str | None
    monthly_cap: Money
    daily_count_cap: int
    consent_text: str
    consent_at: datetime
    last_error: str | None
    action_url: str | None
    created_at: datetime
    updated_at: datetime

    def not_charging(self) -> str | None:
        """Why this setting charges nothing now (None: it may)."""
        if not self.enabled:
            return "auto-recharge is turned off"
        if self.status is RechargeStatus.REQUIRES_ACTION:
            return "a charge waits for the user to authenticate"
        if self.status is RechargeStatus.DISABLED:
            return "auto-recharge was disabled"
        return None


@dataclass(frozen=True, slots=True)
class Usage:
    """What counts against the caps: charged (or in flight) this calendar month (UTC), and the
    number of charges started since the start of the day (UTC)."""

    month_minor: int
    today: int


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def cap_refusal(setting: Setting, amount: Money, usage: Usage) -> tuple[str, str] | None:
    """(code, reason) when charging `amount` now would pass a cap; None when it may be charged."""
    if usage.today >= setting.daily_count_cap:
        return (
            "daily_count_cap_reached",
            f"{usage.today} recharges today, the daily cap is {setting.daily_count_cap}",
        )
    if amount.currency != setting.monthly_cap.currency:
        return ("currency_mismatch", f"the cap is in {setting.monthly_cap.currency}")
    if usage.month_minor + amount.minor > setting.monthly_cap.minor:
        spent = Money(usage.month_minor, amount.currency)
        return (
            "monthly_cap_reached",
            f"{amount} more would pass the monthly cap of {setting.monthly_cap} "
            f"({spent} this month)",
        )
    return None


@dataclass(frozen=True, slots=True)
class Decision:
    """What one charge outcome does: to the attempt, to the settings (None: unchanged), which
    events announce it, and when to try again."""

    attempt: AttemptStatus
    setting: RechargeStatus | None
    events: tuple[Literal["succeeded", "requires_action", "failed", "disabled"], ...]
    retry_in: timedelta | None = None


def backoff(tries: int, config: AutoRechargeConfig) -> timedelta:
    """The wait after the `tries`-th failed charge (1, 2, ...)."""
    wait: timedelta = config.backoff * (2 ** max(tries - 1, 0))
    return min(wait, config.backoff_max)


def decide(result: ChargeResult, tries: int, config: AutoRechargeConfig) -> Decision:
    """`tries`: the charges made for this attempt, this one included."""
    match result:
        case ChargeResult.SUCCEEDED:
            return Decision("succeeded", RechargeStatus.ACTIVE, ("succeeded",))
        case ChargeResult.PROCESSING:
            return Decision("processing", None, ())
        case ChargeResult.REQUIRES_ACTION:
            return Decision("requires_action", RechargeStatus.REQUIRES_ACTION, ("requires_action",))
        case ChargeResult.HARD_DECLINE:
            return Decision("failed", RechargeStatus.DISABLED, ("failed", "disabled"))
        case ChargeResult.TRANSIENT:
            if tries >= config.max_tries:
                return Decision("failed", RechargeStatus.DISABLED, ("failed", "disabled"))
            return Decision("retrying", None, ("failed",), retry_in=backoff(tries, config))
