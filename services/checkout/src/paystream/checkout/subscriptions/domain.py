"""Subscriptions: one per user, always on a plan (the free plan by default), and what is due
when. Pure: no I/O; times are checkout's clock.

    free plan ──subscribe (paid)──> paid plan, active
    active ──upgrade (paid)──> active, the new plan at once
    active ──downgrade / cancel──> active, next_plan set: it takes effect at the period's end
    active ──period ends, next period paid──> active (renewed), the next period
    active ──period ends, unpaid──> past_due        manual billing: grace until grace_ends_at
                                                    Stripe billing: Stripe retries (its webhooks)
    past_due ──next period paid──> active
    past_due ──grace over / Stripe gave up──> free plan
    any paid plan ──cancel takes effect──> free plan

Billing: `free` (the free plan), `stripe` (Stripe Subscriptions charge each period and say so in
webhooks), `manual` (Alipay, WeChat Pay, USDT: a reminder before the period ends, the user pays a
renewal order, unpaid plans drop to the free plan after a grace period).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from paystream.checkout.plans.domain import Period, allowance_period, billing_period


class Status(StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"


class Billing(StrEnum):
    FREE = "free"
    STRIPE = "stripe"
    MANUAL = "manual"


# How a plan's payment method renews it: Stripe's card payments through Stripe Subscriptions,
# the others by an order per period.
RECURRING_METHODS = frozenset({"stripe_checkout"})
MANUAL_METHODS = frozenset({"alipay_qr", "alipay_page", "wechat_pay_native", "usdt_trc20"})
# A Stripe-billed subscription's renewals and upgrades are charged on Stripe invoices.
STRIPE_INVOICE = "stripe_invoice"
# A free allowance (or an upgrade that costs nothing) is an order no provider takes.
NO_PAYMENT = "none"


def billing_for(payment_method: str) -> Billing:
    return Billing.STRIPE if payment_method in RECURRING_METHODS else Billing.MANUAL


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    user_id: str
    plan_id: str
    status: Status
    billing: Billing
    currency: str | None
    payment_method: str | None
    # Billing periods are `months` long, counted from the anchor; allowance months too.
    anchor: datetime
    months: int
    period_index: int
    # The allowance month (from the anchor) last granted.
    allowance_month: int
    # Takes effect at the period's end: a downgrade, or the free plan (a cancel).
    next_plan_id: str | None
    # Manual billing: the paid order of the next period, waiting for it to start.
    renewal_order_id: str | None
    reminded_period: int | None
    grace_ends_at: datetime | None
    stripe_subscription_id: str | None
    stripe_customer_id: str | None
    version: int
    stripe_synced_version: int
    next_check_at: datetime
    created_at: datetime
    updated_at: datetime

    @property
    def period(self) -> Period:
        return billing_period(self.anchor, self.period_index, self.months)

    @property
    def next_period(self) -> Period:
        return billing_period(self.anchor, self.period_index + 1, self.months)

    @property
    def allowance(self) -> Period:
        return allowance_period(self.anchor, self.allowance_month)

    def renewal_plan(self) -> str:
        """The plan the next period is on (a downgrade takes effect then)."""
        return self.next_plan_id or self.plan_id


@dataclass(frozen=True, slots=True)
class Timing:
    remind_before: timedelta
    grace: timedelta


def next_check(sub: Subscription, *, free_plan: str, timing: Timing) -> datetime:
    """When the sweep must look at `sub` next: a reminder, an allowance month, the period's end,
    the end of a grace period."""
    period = sub.period
    times = [period.end]
    if sub.status is Status.PAST_DUE:
        times = [sub.grace_ends_at] if sub.grace_ends_at is not None else []
    elif sub.billing is Billing.STRIPE and sub.next_plan_id != free_plan:
        # Stripe renews it (a downgrade too: its price is Stripe's from the next invoice on),
        # and its webhook rolls the period. Only a cancel and annual months are ours.
        times = []
    allowance_end = allowance_period(sub.anchor, sub.allowance_month).end
    if allowance_end < period.end:
        times.append(allowance_end)
    if (
        sub.billing is Billing.MANUAL
        and sub.status is Status.ACTIVE
        and sub.next_plan_id != free_plan
        and sub.reminded_period != sub.period_index
    ):
        times.append(period.end - timing.remind_before)
    # Far away when nothing is due (a Stripe-billed monthly plan waits for Stripe).
    return min(times) if times else period.end + timedelta(days=3650)


def with_check(sub: Subscription, *, free_plan: str, timing: Timing) -> Subscription:
    return replace(sub, next_check_at=next_check(sub, free_plan=free_plan, timing=timing))
