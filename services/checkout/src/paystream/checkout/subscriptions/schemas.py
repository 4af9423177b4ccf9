"""HTTP bodies of subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from paystream.checkout.catalog.schemas import Currency
from paystream.checkout.orders.schemas import LineOut, OrderOut, PaymentMethod, ReturnUrl
from paystream.checkout.plans.domain import Period
from paystream.checkout.subscriptions import service
from paystream.checkout.subscriptions.domain import Billing, Status
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyOut

PlanId = Field(min_length=1, max_length=64, examples=["pro"])


class PeriodOut(BaseModel):
    start: datetime
    end: datetime

    @classmethod
    def of(cls, p: Period) -> PeriodOut:
        return cls(start=p.start, end=p.end)


class PlanBrief(BaseModel):
    id: str
    name: str
    unit: str
    allowance: int
    interval: Literal["month", "year"]
    free: bool


class RenewalOut(BaseModel):
    """The next period of a plan paid without recurring charges."""

    plan_id: str
    amount: MoneyOut
    opens_at: datetime = Field(description="from when it can be paid (the reminder is sent)")
    due_at: datetime = Field(description="when the current period ends")
    grace_ends_at: datetime = Field(description="unpaid, the plan drops to the free plan then")
    paid: bool


class PendingOrderOut(BaseModel):
    order_id: str
    kind: str
    plan_id: str
    status: str
    amount: MoneyOut


class ChangeOut(BaseModel):
    change: str
    old_plan_id: str | None
    new_plan_id: str
    old_status: str | None
    new_status: str
    order_id: str | None
    changed_at: datetime


class SubscriptionOut(BaseModel):
    subscription_id: str
    user_id: str
    plan: PlanBrief
    status: Status
    billing: Billing = Field(
        description="free | stripe (Stripe Subscriptions charge each "
        "period) | manual (an order per period, with a reminder)"
    )
    currency: str | None
    payment_method: str | None
    current_period: PeriodOut
    allowance_period: PeriodOut = Field(description="the month whose allowance is granted")
    next_plan_id: str | None = Field(description="takes effect at the period's end")
    cancel_at_period_end: bool
    grace_ends_at: datetime | None
    renewal: RenewalOut | None
    stripe_subscription_id: str | None
    pending_orders: list[PendingOrderOut]
    history: list[ChangeOut] = Field(description="the latest transitions, newest first")
    now: datetime = Field(description="checkout's clock (sandbox time in sandbox mode)")

    @classmethod
    def of(cls, v: service.View, plans: service.Plans) -> SubscriptionOut:
        s, plan = v.subscription, v.plan
        renewal = None
        if s.billing is Billing.MANUAL and s.next_plan_id != plans.free.id and s.currency:
            nxt = plans.catalog.plan(s.renewal_plan())
            price = None if nxt is None else nxt.price_in(s.currency)
            if nxt is not None and price is not None:
                renewal = RenewalOut(
                    plan_id=nxt.id,
                    amount=MoneyOut.of(price),
                    opens_at=s.period.end - plans.timing.remind_before,
                    due_at=s.period.end,
                    grace_ends_at=s.grace_ends_at or s.period.end + plans.timing.grace,
                    paid=s.renewal_order_id is not None,
                )
        return cls(
            subscription_id=s.id,
            user_id=s.user_id,
            plan=PlanBrief(
                id=plan.id,
                name=plan.name,
                unit=plan.unit,
                allowance=plan.allowance,
                interval=plan.interval,
                free=plan.is_free,
            ),
            status=s.status,
            billing=s.billing,
            currency=s.currency,
            payment_method=s.payment_method,
            current_period=PeriodOut.of(s.period),
            allowance_period=PeriodOut.of(s.allowance),
            next_plan_id=s.next_plan_id,
            cancel_at_period_end=s.next_plan_id == plans.free.id,
            grace_ends_at=s.grace_ends_at,
            renewal=renewal,
            stripe_subscription_id=s.stripe_subscription_id,
            pending_orders=[
                PendingOrderOut(
                    order_id=o.id,
                    kind=o.kind,
                    plan_id=po.plan_id,
                    status=o.status.value,
                    amount=MoneyOut.of(o.amount),
                )
                for po, o in v.pending
            ],
            history=[
                ChangeOut(
                    change=c.change,
                    old_plan_id=c.old_plan_id,
                    new_plan_id=c.new_plan_id,
                    old_status=c.old_status,
                    new_status=c.new_status,
                    order_id=c.order_id,
                    changed_at=c.changed_at,
                )
                for c in v.history
            ],
            now=plans.now(),
        )


class SubscribeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "plan_id": "pro",
                    "payment_method": "stripe_checkout",
                    "currency": "USD",
                    "return_url": "https://shop.example.com/plans/return",
                },
                {"plan_id": "pro_annual", "payment_method": "alipay_qr", "currency": "CNY"},
            ]
        },
    )

    plan_id: str = PlanId
    payment_method: PaymentMethod = Field(
        description="stripe_checkout: Stripe Subscriptions charge every period; alipay_qr, "
        "alipay_page, wechat_pay_native, usdt_trc20: an order per period, with a reminder"
    )
    currency: Currency | None = None
    return_url: ReturnUrl | None = None


class OpenedOut(BaseModel):
    subscription: SubscriptionOut
    order: OrderOut | None = Field(description="the order to pay (its payment instructions)")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"plan_id": "vip"}]})

    plan_id: str = PlanId


class ProrationOut(BaseModel):
    at: datetime = Field(description="the proration time this preview pins")
    period: PeriodOut
    seconds_left: int
    seconds_in_period: int
    allowance_period: PeriodOut
    allowance_seconds_left: int


class PreviewOut(BaseModel):
    plan_id: str
    from_plan_id: str
    change: Literal["upgrade", "downgrade"]
    effective: Literal["now", "period_end"]
    effective_at: datetime
    charge: MoneyOut = Field(description="what the change charges now (rounded down)")
    allowance_delta: int = Field(
        description="units granted now for the rest of the month (rounded down)"
    )
    unit: str
    proration: ProrationOut | None
    lines: list[LineOut]
    next_renewal: MoneyOut | None = Field(description="what the next period costs")
    token: str = Field(
        description="present it as `preview` in POST /v1/subscriptions/change "
        "to be charged exactly this"
    )
    expires_at: datetime

    @classmethod
    def of(cls, p: service.Preview) -> PreviewOut:
        currency = p.subscription.currency or "CNY"
        lines: list[LineOut] = []
        proration = None
        if p.proration is not None:
            facts = service.upgrade_facts(p.current, p.target, p.proration)
            lines = [LineOut.of(line, currency) for line in facts.lines]
            pr = p.proration
            proration = ProrationOut(
                at=pr.at,
                period=PeriodOut.of(pr.period),
                seconds_left=pr.left_s,
                seconds_in_period=pr.period.seconds,
                allowance_period=PeriodOut.of(pr.allowance_period),
                allowance_seconds_left=pr.allowance_left_s,
            )
        return cls(
            plan_id=p.target.id,
            from_plan_id=p.current.id,
            change="upgrade" if p.proration is not None else "downgrade",
            effective="now" if p.proration is not None else "period_end",
            effective_at=p.effective_at,
            charge=MoneyOut.of(p.charge if p.proration else Money(0, currency)),
            allowance_delta=p.allowance_delta,
            unit=p.target.unit,
            proration=proration,
            lines=lines,
            next_renewal=None if p.next_amount is None else MoneyOut.of(p.next_amount),
            token=p.token,
            expires_at=p.expires_at,
        )


class ChangeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                # An upgrade charged exactly as its preview said (the token is abridged).
                {"plan_id": "vip", "preview": "eyJ2IjoxLCJraW5kIjoicHJldmlldyJ9.c2ln"},
                # A downgrade, at the period's end: nothing to pay.
                {"plan_id": "basic"},
            ]
        },
    )

    plan_id: str = PlanId
    preview: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="a preview's token: the upgrade is charged exactly as previewed",
    )
    payment_method: PaymentMethod | None = Field(
        default=None,
        description="pays an upgrade of a plan without recurring charges (default: the one "
        "that paid it last); a Stripe-billed plan's upgrade is charged to its card",
    )
    return_url: ReturnUrl | None = None


class ChangedOut(BaseModel):
    subscription: SubscriptionOut
    change: Literal["upgrade", "downgrade"]
    effective: Literal["now", "period_end"]
    effective_at: datetime
    order: OrderOut | None = Field(
        description="an upgrade's order to pay (none when it cost nothing, or for a downgrade)"
    )


class RenewIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"payment_method": "wechat_pay_native"},
                {},
            ]
        },
    )

    payment_method: PaymentMethod | None = Field(
        default=None, description="default: the method that paid the plan last"
    )
    return_url: ReturnUrl | None = None
