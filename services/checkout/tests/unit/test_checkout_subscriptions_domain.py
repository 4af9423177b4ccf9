"""When the sweep must look at a subscription next, by billing and status."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from paystream.checkout.subscriptions.domain import (
    Billing,
    Status,
    Subscription,
    Timing,
    billing_for,
    next_check,
)

T = Timing(remind_before=timedelta(days=3), grace=timedelta(days=3))
ANCHOR = datetime(2026, 1, 31, 10, tzinfo=UTC)


def sub(**over: object) -> Subscription:
    base = Subscription(
        id="s",
        user_id="u",
        plan_id="pro",
        status=Status.ACTIVE,
        billing=Billing.MANUAL,
        currency="CNY",
        payment_method="alipay_qr",
        anchor=ANCHOR,
        months=1,
        period_index=0,
        allowance_month=0,
        next_plan_id=None,
        renewal_order_id=None,
        reminded_period=None,
        grace_ends_at=None,
        stripe_subscription_id=None,
        stripe_customer_id=None,
        version=0,
        stripe_synced_version=0,
        next_check_at=ANCHOR,
        created_at=ANCHOR,
        updated_at=ANCHOR,
    )
    return replace(base, **over)  # type: ignore[arg-type]


FEB_28 = datetime(2026, 2, 28, 10, tzinfo=UTC)


def test_manual_billing_is_looked_at_for_its_reminder_then_its_period_end() -> None:
    assert next_check(sub(), free_plan="basic", timing=T) == FEB_28 - timedelta(days=3)
    assert next_check(sub(reminded_period=0), free_plan="basic", timing=T) == FEB_28


def test_a_cancelled_plan_gets_no_reminder() -> None:
    assert next_check(sub(next_plan_id="basic"), free_plan="basic", timing=T) == FEB_28


def test_past_due_waits_for_the_end_of_its_grace() -> None:
    grace = FEB_28 + timedelta(days=3)
    s = sub(status=Status.PAST_DUE, grace_ends_at=grace, reminded_period=0)
    assert next_check(s, free_plan="basic", timing=T) == grace


def test_stripe_renews_by_itself_unless_cancelled() -> None:
    s = sub(billing=Billing.STRIPE, payment_method="stripe_checkout")
    assert next_check(s, free_plan="basic", timing=T) > FEB_28 + timedelta(days=3000)
    assert next_check(replace(s, next_plan_id="vip"), free_plan="basic", timing=T) > FEB_28
    assert next_check(replace(s, next_plan_id="basic"), free_plan="basic", timing=T) == FEB_28


def test_an_annual_plan_is_looked_at_every_month() -> None:
    s = sub(billing=Billing.STRIPE, payment_method="stripe_checkout", months=12)
    assert next_check(s, free_plan="basic", timing=T) == FEB_28
    march = datetime(2026, 3, 31, 10, tzinfo=UTC)
    assert next_check(replace(s, allowance_month=1), free_plan="basic", timing=T) == march


@pytest.mark.parametrize(
    ("method", "billing"),
    [
        ("stripe_checkout", Billing.STRIPE),
        ("alipay_qr", Billing.MANUAL),
        ("wechat_pay_native", Billing.MANUAL),
        ("usdt_trc20", Billing.MANUAL),
    ],
)
def test_billing_by_payment_method(method: str, billing: Billing) -> None:
    assert billing_for(method) is billing
