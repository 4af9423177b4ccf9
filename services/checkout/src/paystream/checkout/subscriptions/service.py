"""Subscriptions: subscribe, preview and change plans, cancel, renew, and what happens when their
orders are paid, when their periods end (the sweep) and when Stripe Subscriptions says so.

Every period's allowance is a lot granted by an order's OrderPaidV1 (a paid period, an upgrade's
prorated difference, or a free allowance), expiring at the end of its month. Every transition is
kept in `subscription_changes` and published as SubscriptionChangedV1, in its transaction.
Use cases handed the pool own their transactions (those that open a payment, two: around the
provider call, as orders do); the rest run in their caller's (the consumer's batch, the sweep).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg
import orjson
import structlog

from paystream.checkout.catalog.domain import Catalog
from paystream.checkout.orders import repository as orders_repo
from paystream.checkout.orders import service as orders
from paystream.checkout.orders.domain import Order, OrderFacts, OrderStatus
from paystream.checkout.plans.domain import (
    ChangeKind,
    Period,
    Plan,
    Proration,
    allowance_period,
    billing_period,
    classify_change,
    prorate_upgrade,
)
from paystream.checkout.providers import Recurring
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.quotes.signing import Signer
from paystream.checkout.subscriptions import repository as repo
from paystream.checkout.subscriptions.domain import (
    MANUAL_METHODS,
    NO_PAYMENT,
    RECURRING_METHODS,
    STRIPE_INVOICE,
    Billing,
    Status,
    Subscription,
    Timing,
    billing_for,
    with_check,
)
from paystream.shared.clock import Clock
from paystream.shared.db import Connection, transaction
from paystream.shared.errors import Conflict, NotFound, Unprocessable
from paystream.shared.events import (
    Envelope,
    GrantSpec,
    InvoiceLine,
    PlanPeriodV1,
    SubscriptionChangedV1,
    utcnow,
)
from paystream.shared.money import Money
from paystream.shared.outbox import enqueue

log = structlog.get_logger(__name__)

SOURCE = "paystream/checkout/subscriptions"
PREVIEW_AUDIENCE: Final = "paystream:subscription-preview"
# A sweep that finds a subscription far behind (a clock moved by months) catches up in steps.
MAX_STEPS: Final = 240


class PlansNotOffered(NotFound):
    code = "plans_not_offered"


class UnknownPlan(Unprocessable):
    code = "unknown_plan"


class PlanUnchanged(Conflict):
    code = "plan_unchanged"


class SubscriptionExists(Conflict):
    code = "subscription_exists"


class NoPaidPlan(Conflict):
    code = "no_paid_plan"


class ChangePending(Conflict):
    code = "change_pending"


class SubscriptionPastDue(Conflict):
    code = "subscription_past_due"


class RenewalNotDue(Conflict):
    code = "renewal_not_due"


class RenewsAutomatically(Conflict):
    code = "renews_automatically"


class SubscriptionCanceling(Conflict):
    code = "subscription_canceling"


class PreviewInvalid(Unprocessable):
    code = "preview_invalid"


class PreviewExpired(Unprocessable):
    code = "preview_expired"


class PreviewStale(Conflict):
    code = "preview_stale"


@dataclass(frozen=True, slots=True)
class Plans:
    """What the subscription use cases need: the catalog, checkout's clock, the timing rules and
    the orders' configuration."""

    catalog: Catalog
    clock: Clock
    timing: Timing
    config: orders.CheckoutConfig

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def free(self) -> Plan:
        plan = self.catalog.default_plan
        if plan is None:
            raise PlansNotOffered("this checkout sells no plans")
        return plan

    def plan(self, plan_id: str) -> Plan:
        plan = self.catalog.plan(plan_id)
        if plan is None:
            raise UnknownPlan(f"unknown plan {plan_id!r}")
        return plan

    def currency_of(self, sub: Subscription) -> str:
        """A free order is in the subscription's currency, or the catalog's first one."""
        return sub.currency or self.catalog.packages[0].price.currency


def _whole(at: datetime) -> datetime:
    # Anchors and periods are whole seconds, so prorations count whole seconds.
    return at.replace(microsecond=0)


def _checked(sub: Subscription, plans: Plans) -> Subscription:
    return with_check(sub, free_plan=plans.free.id, timing=plans.timing)


async def save(conn: Connection, sub: Subscription, plans: Plans) -> Subscription:
    return await repo.save(conn, _checked(replace(sub, updated_at=plans.now()), plans))


async def changed(
    conn: Connection,
    before: Subscription | None,
    after: Subscription,
    change: str,
    *,
    now: datetime,
    order_id: str | None = None,
) -> None:
    """Record and announce a transition (in the caller's transaction)."""
    await repo.insert_change(
        conn,
        uuid.UUID(after.id),
        change=change,
        old_plan_id=None if before is None else before.plan_id,
        new_plan_id=after.plan_id,
        old_status=None if before is None else before.status.value,
        new_status=after.status.value,
        order_id=None if order_id is None else uuid.UUID(order_id),
        at=now,
    )
    period = after.period
    event = SubscriptionChangedV1(
        subscription_id=after.id,
        user_id=after.user_id,
        change=change,
        plan_id=after.plan_id,
        status=after.status.value,
        old_plan_id=None if before is None else before.plan_id,
        old_status=None if before is None else before.status.value,
        billing=after.billing.value,
        period_start=period.start,
        period_end=period.end,
        next_plan_id=after.next_plan_id,
        grace_ends_at=after.grace_ends_at,
        order_id=order_id,
        changed_at=now,
    )
    await enqueue(conn, after.user_id, Envelope.wrap(event, source=SOURCE, subject=after.id))
    log.info(
        "subscription_changed",
        subscription_id=after.id,
        user_id=after.user_id,
        change=change,
        plan=after.plan_id,
        status=after.status,
    )


# ---- reading, and the free plan every user starts on --------------------------------------------


async def ensure(conn: Connection, user_id: str, plans: Plans) -> Subscription:
    """The user's subscription, locked; a user seen for the first time is put on the free plan
    (its first month's allowance granted)."""
    sub = await repo.get_by_user_for_update(conn, user_id)
    if sub is not None:
        return sub
    free = plans.free
    at = _whole(plans.now())
    created = await repo.insert_free(
        conn, user_id=user_id, plan_id=free.id, at=at, next_check_at=at
    )
    if created is None:
        # A concurrent first request inserted it (the INSERT waited for it to commit).
        sub = await repo.get_by_user_for_update(conn, user_id)
        assert sub is not None, "the concurrent subscription vanished"
        return sub
    await changed(conn, None, created, "enrolled", now=plans.now())
    await grant_free_month(conn, created, free, plans)
    return await save(conn, created, plans)


@dataclass(frozen=True, slots=True)
class View:
    subscription: Subscription
    plan: Plan
    pending: list[tuple[repo.PlanOrder, Order]]
    history: list[repo.Change]


async def view(pool: asyncpg.Pool, user_id: str, plans: Plans) -> View:
    """The caller's subscription (created on the free plan on first sight), its open orders and
    its recent transitions."""
    async with transaction(pool) as conn:
        sub = await ensure(conn, user_id, plans)
        return await _view(conn, sub, plans)


async def _view(conn: Connection, sub: Subscription, plans: Plans) -> View:
    sid = uuid.UUID(sub.id)
    pending = []
    for po in await repo.open_orders(conn, sid, ["subscription", "renewal", "upgrade"]):
        order = await orders_repo.get_order(conn, uuid.UUID(po.order_id))
        assert order is not None
        pending.append((po, order))
    plan = plans.catalog.plan(sub.plan_id) or plans.free
    return View(sub, plan, pending, await repo.history(conn, sid, 20))


# ---- orders of plans --------------------------------------------------------------------------


def _fmt(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _grant(plan: Plan, quantity: int, month: Period, cost_minor: int) -> tuple[GrantSpec, ...]:
    if quantity <= 0:
        return ()
    return (
        GrantSpec(
            unit=plan.unit,
            quantity=quantity,
            source="plan_allowance",
            expires_at=month.end,
            cost_minor=cost_minor,
        ),
    )


def period_facts(
    plan: Plan, price: Money, period: Period, month: Period, *, kind: str
) -> OrderFacts:
    """A plan's period bought: its price, one line, and the first month's allowance (an annual
    plan's later months are granted as they come, at no cost of their own)."""
    every = "year" if plan.interval == "year" else "month"
    cost = price.minor if plan.months == 1 else price.minor // plan.months
    line = InvoiceLine(
        description=f"{plan.name} plan, billed every {every}: {_fmt(period.start)} to "
        f"{_fmt(period.end)} ({plan.allowance:,} {plan.unit} a month)",
        quantity=1,
        unit_amount_minor=price.minor,
        amount_minor=price.minor,
    )
    return OrderFacts(
        kind=kind,  # type: ignore[arg-type]
        item_id=plan.id,
        name=f"{plan.name} plan",
        credits=plan.allowance,
        amount=price,
        grants=_grant(plan, plan.allowance, month, cost),
        lines=(line,),
    )


def upgrade_facts(current: Plan, target: Plan, p: Proration) -> OrderFacts:
    line = InvoiceLine(
        description=f"Upgrade {current.name} to {target.name} for the rest of the period "
        f"{_fmt(p.at)} to {_fmt(p.period.end)} ({p.left_s:,} of {p.period.seconds:,} s): "
        f"+{p.allowance_delta:,} {target.unit} this month",
        quantity=1,
        unit_amount_minor=p.charge.minor,
        amount_minor=p.charge.minor,
    )
    return OrderFacts(
        kind="upgrade",
        item_id=target.id,
        name=f"Upgrade to {target.name}",
        credits=p.allowance_delta,
        amount=p.charge,
        grants=_grant(target, p.allowance_delta, p.allowance_period, p.charge.minor),
        lines=(line,),
    )


def _allowance_facts(plan: Plan, month: Period, currency: str) -> OrderFacts:
    return OrderFacts(
        kind="allowance",
        item_id=plan.id,
        name=f"{plan.name} allowance",
        credits=plan.allowance,
        amount=Money(0, currency),
        grants=_grant(plan, plan.allowance, month, 0),
        lines=(
            InvoiceLine(
                description=f"{plan.name}: {plan.allowance:,} {plan.unit}, "
                f"{_fmt(month.start)} to {_fmt(month.end)}",
                quantity=1,
                unit_amount_minor=0,
                amount_minor=0,
            ),
        ),
    )


def _plan_period(po: repo.PlanOrder, plans: Plans) -> PlanPeriodV1:
    plan = plans.catalog.plan(po.plan_id)  # None: a plan since taken out of the catalog
    rollover = None if plan is None else plan.rollover
    return PlanPeriodV1(
        subscription_id=po.subscription_id,
        plan_id=po.plan_id,
        kind=po.kind,
        period_start=po.period_start,
        period_end=po.period_end,
        from_plan_id=po.from_plan_id,
        rollover_cap=None if rollover is None else rollover.cap,
    )


async def insert_order(
    conn: Connection,
    sub: Subscription,
    cmd: orders.PlaceOrder,
    facts: OrderFacts,
    *,
    plans: Plans,
    period: Period,
    month: int,
    months: int,
    from_plan_id: str | None = None,
    stripe_invoice_id: str | None = None,
    fingerprint: str | None = None,
) -> tuple[Order, bool]:
    """Insert a plan's order and what it pays for (or find the one its Idempotency-Key made)."""
    order, created = await orders.open_order_for(
        conn, cmd, facts, config=plans.config, now=utcnow(), fingerprint=fingerprint
    )
    if created:
        await repo.insert_plan_order(
            conn,
            repo.PlanOrder(
                order_id=order.id,
                subscription_id=sub.id,
                kind=facts.kind,
                plan_id=facts.item_id,
                from_plan_id=from_plan_id,
                period_index=period.index,
                period_start=period.start,
                period_end=period.end,
                allowance_month=month,
                months=months,
                stripe_invoice_id=stripe_invoice_id,
                applied_at=None,
                created_at=plans.now(),
            ),
        )
    return order, created


async def _pay_free(conn: Connection, order: Order, po_kind: str, plans: Plans) -> None:
    """An order that costs nothing is paid at once: no provider takes it."""
    if order.status is not OrderStatus.PENDING:
        return  # already settled (the same free order asked twice)
    order = await orders_repo.record_payment(
        conn,
        uuid.UUID(order.id),
        paid_at=utcnow(),
        provider_payment_id=None,
        provider_session_id=None,
        paid_amount_minor=0,
        paid_currency=order.amount.currency,
        amount_mismatch=False,
    )
    paid = await orders.change_status(
        conn, order, OrderStatus.PAID, reason=f"free_{po_kind}", now=utcnow()
    )
    await orders.settle_paid(
        conn,
        paid,
        provider_event_id=f"checkout:{po_kind}:{order.id}",
        review="matched",
        plans=plans,
    )


async def grant_free_month(conn: Connection, sub: Subscription, plan: Plan, plans: Plans) -> None:
    """Grant `plan`'s allowance for the subscription's current allowance month, as a free order,
    once (its Idempotency-Key names the month); a month already over grants nothing."""
    month = allowance_period(sub.anchor, sub.allowance_month)
    if month.end <= plans.now():
        return
    cmd = orders.PlaceOrder(
        user_id=sub.user_id,
        package_id=plan.id,
        payment_method=NO_PAYMENT,
        return_url=None,
        idempotency_key=f"allowance:{sub.id}:{sub.anchor.isoformat()}:{sub.allowance_month}",
    )
    order, _ = await insert_order(
        conn,
        sub,
        cmd,
        _allowance_facts(plan, month, plans.currency_of(sub)),
        plans=plans,
        period=Period(sub.allowance_month, month.start, month.end),
        month=sub.allowance_month,
        months=1,
    )
    await _pay_free(conn, order, "allowance", plans)


# ---- subscribing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscribe:
    user_id: str
    plan_id: str
    payment_method: str
    currency: str | None
    return_url: str | None
    idempotency_key: str | None
    client_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Opened:
    subscription: Subscription
    order: Order | None
    replayed: bool = False


def _currency(plan: Plan, method: str, asked: str | None, providers: ProviderRegistry) -> Money:
    """The plan's price the payer pays with `method`: in `asked`, or the first the method takes."""
    if method not in RECURRING_METHODS | MANUAL_METHODS:
        raise orders.PaymentMethodUnavailable(
            f"plans are paid with {', '.join(sorted(RECURRING_METHODS | MANUAL_METHODS))}: a "
            "Stripe card renews through Stripe Subscriptions (stripe_checkout), the others by "
            "an order per period"
        )
    if asked is not None:
        price = plan.price_in(asked)
        if price is None or plan.is_free:
            offered = ", ".join(p.currency for p in plan.prices)
            raise orders.CurrencyNotOffered(
                f"plan {plan.id!r} is not sold in {asked.upper()} (it is in {offered})"
            )
        if not providers.is_offered(method, price.currency):
            raise orders.PaymentMethodUnavailable(
                f"{method} is not available for {price.currency} here"
            )
        return price
    for price in plan.prices:
        if providers.is_offered(method, price.currency):
            return price
    raise orders.PaymentMethodUnavailable(f"{method} takes none of {plan.id!r}'s currencies here")


async def subscribe(
    pool: asyncpg.Pool, cmd: Subscribe, *, plans: Plans, providers: ProviderRegistry
) -> Opened:
    """Buy a paid plan from the free plan: an order for its first period (starting now, on
    checkout's clock), paid with any method that takes it; it takes effect once paid."""
    plan = plans.plan(cmd.plan_id)
    if plan.is_free:
        raise PlanUnchanged(f"{plan.id!r} is the free plan every user is on without paying")
    price = _currency(plan, cmd.payment_method, cmd.currency, providers)
    place = orders.PlaceOrder(
        user_id=cmd.user_id,
        package_id=plan.id,
        payment_method=cmd.payment_method,
        return_url=cmd.return_url,
        idempotency_key=cmd.idempotency_key,
        currency=price.currency,
        client_ip=cmd.client_ip,
    )
    fingerprint = _fingerprint(
        "subscribe",
        plan=plan.id,
        method=cmd.payment_method,
        currency=cmd.currency,
        return_url=cmd.return_url,
    )
    async with transaction(pool) as conn:
        sub = await ensure(conn, cmd.user_id, plans)
        replay = await _replay(conn, place, fingerprint)
        if replay is None:
            if sub.billing is not Billing.FREE:
                raise SubscriptionExists(
                    f"the user already has the {sub.plan_id!r} plan: change it with "
                    "POST /v1/subscriptions/change"
                )
            await _refuse_pending(conn, sub)
        anchor = _whole(plans.now())
        period = billing_period(anchor, 0, plan.months)
        facts = period_facts(plan, price, period, allowance_period(anchor, 0), kind="subscription")
        order, created = await insert_order(
            conn,
            sub,
            place,
            facts,
            plans=plans,
            period=period,
            month=0,
            months=plan.months,
            fingerprint=fingerprint,
        )
    return await _opened(pool, sub, order, created, place, plans, providers, plan)


def _fingerprint(use_case: str, **fields: object) -> str:
    """What makes two requests of a use case "the same body" for an Idempotency-Key."""
    canonical = orjson.dumps({"use_case": use_case, **fields}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


async def _replay(conn: Connection, place: orders.PlaceOrder, fingerprint: str) -> Order | None:
    """The order an earlier request with this Idempotency-Key made (its checks passed then:
    they are not made again); IdempotencyKeyReused for another body."""
    if place.idempotency_key is None:
        return None
    existing = await orders_repo.get_order_by_idempotency_key(
        conn, place.user_id, place.idempotency_key
    )
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise orders.IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body"
        )
    return existing


async def _opened(
    pool: asyncpg.Pool,
    sub: Subscription,
    order: Order,
    created: bool,
    place: orders.PlaceOrder,
    plans: Plans,
    providers: ProviderRegistry,
    plan: Plan,
) -> Opened:
    recurring = None
    if place.payment_method in RECURRING_METHODS and order.kind == "subscription":
        async with pool.acquire() as conn:
            po = await repo.plan_order(conn, uuid.UUID(order.id))
        assert po is not None
        recurring = Recurring(
            interval=plan.interval,
            next_period_at=po.period_end,
            metadata=(
                ("paystream_subscription_id", sub.id),
                ("user_id", sub.user_id),
                ("plan_id", plan.id),
            ),
        )
    placed = await orders.open_payment(
        pool,
        order,
        created,
        place,
        name=f"{plan.name} plan",
        providers=providers,
        config=plans.config,
        recurring=recurring,
    )
    return Opened(sub, placed.order, placed.replayed)


async def _refuse_pending(conn: Connection, sub: Subscription) -> None:
    pending = await repo.open_orders(conn, uuid.UUID(sub.id), ["subscription", "upgrade"])
    if pending:
        raise ChangePending(
            f"order {pending[0].order_id} for {pending[0].plan_id!r} waits to be paid: pay or "
            "cancel it first (POST /v1/orders/{id}/cancel)"
        )


# ---- previews and changes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    subscription: Subscription
    current: Plan
    target: Plan
    kind: ChangeKind
    effective_at: datetime
    proration: Proration | None
    next_amount: Money | None
    token: str
    expires_at: datetime

    @property
    def charge(self) -> Money:
        if self.proration is not None:
            return self.proration.charge
        return Money(0, self.subscription.currency or "CNY")

    @property
    def allowance_delta(self) -> int:
        return 0 if self.proration is None else self.proration.allowance_delta


def _classify(sub: Subscription, plans: Plans, plan_id: str) -> tuple[Plan, Plan, ChangeKind]:
    target = plans.plan(plan_id)
    current = plans.plan(sub.plan_id)
    if current.is_free:
        raise NoPaidPlan("the free plan is not changed: subscribe with POST /v1/subscriptions")
    if sub.status is Status.PAST_DUE:
        raise SubscriptionPastDue(
            "the renewal is unpaid: renew (POST /v1/subscriptions/renew) before changing"
        )
    assert sub.currency is not None
    if not target.is_free and target.price_in(sub.currency) is None:
        raise orders.CurrencyNotOffered(f"plan {target.id!r} is not sold in {sub.currency}")
    kind = classify_change(current, target, sub.currency)
    if kind is ChangeKind.SAME:
        raise PlanUnchanged(f"the subscription is on {target.id!r} already")
    return current, target, kind


def _proration(sub: Subscription, current: Plan, target: Plan, at: datetime) -> Proration:
    assert sub.currency is not None
    return prorate_upgrade(
        current, target, sub.currency, at=at, period=sub.period, allowance=sub.allowance
    )


async def preview(
    pool: asyncpg.Pool, user_id: str, plan_id: str, *, plans: Plans, signer: Signer, ttl: timedelta
) -> Preview:
    """What changing to `plan_id` now costs and grants, pinned: the change request presenting
    the token is charged as of this moment (while the token lasts)."""
    async with transaction(pool) as conn:
        sub = await ensure(conn, user_id, plans)
    current, target, kind = _classify(sub, plans, plan_id)
    at = _whole(plans.now())
    proration = _proration(sub, current, target, at) if kind is ChangeKind.UPGRADE else None
    assert sub.currency is not None
    # An upgrade renews at the new price; a downgrade's next period is the new plan's too.
    next_amount = target.price_in(sub.currency)
    expires_at = at + ttl
    claims: dict[str, Any] = {
        "sub": user_id,
        "sid": sub.id,
        "pix": sub.period_index,
        "from": current.id,
        "to": target.id,
        "at": int(at.timestamp()),
        "chg": 0 if proration is None else proration.charge.minor,
        "cur": sub.currency,
        "dal": 0 if proration is None else proration.allowance_delta,
    }
    return Preview(
        subscription=sub,
        current=current,
        target=target,
        kind=kind,
        effective_at=at if kind is ChangeKind.UPGRADE else sub.period.end,
        proration=proration,
        next_amount=next_amount,
        token=signer.sign(PREVIEW_AUDIENCE, claims, expires_at=expires_at),
        expires_at=expires_at,
    )


@dataclass(frozen=True, slots=True)
class Change:
    user_id: str
    plan_id: str
    preview: str | None
    payment_method: str | None
    return_url: str | None
    idempotency_key: str | None
    client_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Changed:
    subscription: Subscription
    kind: ChangeKind
    effective_at: datetime
    order: Order | None
    replayed: bool = False


def _pinned(
    cmd: Change, sub: Subscription, current: Plan, target: Plan, signer: Signer
) -> Proration:
    """The proration a preview pinned, if it still describes this subscription."""
    assert cmd.preview is not None
    c = signer.verify(
        PREVIEW_AUDIENCE,
        cmd.preview,
        what="preview",
        invalid=PreviewInvalid,
        expired=PreviewExpired,
    )
    if c.get("sub") != cmd.user_id:
        raise PreviewInvalid("this preview was issued to another user")
    if (c["sid"], c["pix"], c["from"], c["to"]) != (
        sub.id,
        sub.period_index,
        current.id,
        target.id,
    ):
        raise PreviewStale(
            "the subscription or the plan asked changed since this preview: preview again"
        )
    at = datetime.fromtimestamp(int(c["at"]), sub.anchor.tzinfo)
    p = _proration(sub, current, target, at)
    if (p.charge.minor, p.allowance_delta) != (int(c["chg"]), int(c["dal"])):
        raise PreviewStale("the preview no longer matches the subscription: preview again")
    return p


async def change(
    pool: asyncpg.Pool,
    cmd: Change,
    *,
    plans: Plans,
    providers: ProviderRegistry,
    signer: Signer,
) -> Changed:
    """Change plans. An upgrade takes effect once its prorated difference is paid (at once when
    it costs nothing); a downgrade or a change of interval takes effect at the period's end."""
    fingerprint = _fingerprint(
        "change",
        plan=cmd.plan_id,
        preview=cmd.preview,
        method=cmd.payment_method,
        return_url=cmd.return_url,
    )
    async with transaction(pool) as conn:
        sub = await ensure(conn, cmd.user_id, plans)
        asked = orders.PlaceOrder(
            user_id=cmd.user_id,
            package_id=cmd.plan_id,
            payment_method=cmd.payment_method or "",
            return_url=cmd.return_url,
            idempotency_key=cmd.idempotency_key,
            client_ip=cmd.client_ip,
        )
        replay = await _replay(conn, asked, fingerprint)
        if replay is None:
            current, target, kind = _classify(sub, plans, cmd.plan_id)
            if kind is ChangeKind.DOWNGRADE:
                if target.is_free:
                    raise PlanUnchanged("to end a plan, cancel it: POST /v1/subscriptions/cancel")
                before = sub
                sub = await save(
                    conn, replace(sub, next_plan_id=target.id, version=sub.version + 1), plans
                )
                await changed(conn, before, sub, "downgrade_scheduled", now=plans.now())
                return Changed(sub, kind, sub.period.end, None)
            await _refuse_pending(conn, sub)
            if cmd.preview is not None:
                proration = _pinned(cmd, sub, current, target, signer)
            else:
                proration = _proration(sub, current, target, _whole(plans.now()))
            method = (
                NO_PAYMENT if proration.charge.minor == 0 else _upgrade_method(sub, cmd, providers)
            )
            place = replace(asked, payment_method=method, currency=proration.charge.currency)
            facts = upgrade_facts(current, target, proration)
            order, created = await insert_order(
                conn,
                sub,
                place,
                facts,
                plans=plans,
                period=sub.period,
                month=sub.allowance_month,
                months=sub.months,
                from_plan_id=current.id,
                fingerprint=fingerprint,
            )
            effective_at = proration.at
            if method == NO_PAYMENT:
                # Nothing to pay (the last seconds of a period): it takes effect now.
                await _pay_free(conn, order, "upgrade", plans)
                sub = await repo.get(conn, uuid.UUID(sub.id)) or sub
                order = await orders_repo.get_order(conn, uuid.UUID(order.id)) or order
                return Changed(sub, kind, effective_at, order)
        else:
            order, created = replay, False
            place = replace(asked, payment_method=order.payment_method)
            target = plans.plan(order.package_id)
            effective_at = order.created_at
            if order.payment_method == NO_PAYMENT:
                return Changed(sub, ChangeKind.UPGRADE, effective_at, order, replayed=True)
    recurring = None
    if place.payment_method == STRIPE_INVOICE:
        assert sub.stripe_customer_id is not None
        recurring = Recurring(
            interval=target.interval,
            next_period_at=sub.period.end,
            metadata=(("paystream_subscription_id", sub.id),),
            customer_id=sub.stripe_customer_id,
            subscription_id=sub.stripe_subscription_id,
        )
    placed = await orders.open_payment(
        pool,
        order,
        created,
        place,
        name=f"Upgrade to {target.name}",
        providers=providers,
        config=plans.config,
        recurring=recurring,
    )
    return Changed(sub, ChangeKind.UPGRADE, effective_at, placed.order, placed.replayed)


def _upgrade_method(sub: Subscription, cmd: Change, providers: ProviderRegistry) -> str:
    """A Stripe-billed subscription's upgrade is charged to its card on a Stripe invoice; a
    manual one is paid with the method asked (by default the one that paid it last)."""
    if sub.billing is Billing.STRIPE and sub.stripe_customer_id is not None:
        if cmd.payment_method not in (None, STRIPE_INVOICE, *RECURRING_METHODS):
            raise orders.PaymentMethodUnavailable(
                "this subscription is billed by Stripe: its upgrades are charged to its card"
            )
        return STRIPE_INVOICE
    method = cmd.payment_method or sub.payment_method or ""
    assert sub.currency is not None
    if method not in RECURRING_METHODS | MANUAL_METHODS or not providers.is_offered(
        method, sub.currency
    ):
        raise orders.PaymentMethodUnavailable(
            f"{method or 'no method'} cannot pay in {sub.currency} here"
        )
    return method


async def cancel(pool: asyncpg.Pool, user_id: str, *, plans: Plans) -> Subscription:
    """End the paid plan at the period's end (the free plan then); asking again is a no-op."""
    async with transaction(pool) as conn:
        sub = await ensure(conn, user_id, plans)
        if plans.plan(sub.plan_id).is_free:
            raise NoPaidPlan("the free plan has nothing to cancel")
        if sub.next_plan_id == plans.free.id:
            return sub
        before = sub
        sub = await save(
            conn, replace(sub, next_plan_id=plans.free.id, version=sub.version + 1), plans
        )
        await changed(conn, before, sub, "cancel_scheduled", now=plans.now())
        return sub


async def resume(pool: asyncpg.Pool, user_id: str, *, plans: Plans) -> Subscription:
    """Undo a scheduled cancel or downgrade: the plan renews as it is."""
    async with transaction(pool) as conn:
        sub = await ensure(conn, user_id, plans)
        if sub.next_plan_id is None:
            return sub
        before = sub
        sub = await save(conn, replace(sub, next_plan_id=None, version=sub.version + 1), plans)
        await changed(conn, before, sub, "change_unscheduled", now=plans.now())
        return sub


# ---- renewing without recurring charges -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Renew:
    user_id: str
    payment_method: str | None
    return_url: str | None
    idempotency_key: str | None
    client_ip: str | None = None


async def renew(
    pool: asyncpg.Pool, cmd: Renew, *, plans: Plans, providers: ProviderRegistry
) -> Opened:
    """The order for the next period of a plan paid without recurring charges: from the
    reminder on, and through the grace period once it ended unpaid."""
    fingerprint = _fingerprint("renew", method=cmd.payment_method, return_url=cmd.return_url)
    async with transaction(pool) as conn:
        sub = await ensure(conn, cmd.user_id, plans)
        asked = orders.PlaceOrder(
            user_id=cmd.user_id,
            package_id="",
            payment_method=cmd.payment_method or "",
            return_url=cmd.return_url,
            idempotency_key=cmd.idempotency_key,
            client_ip=cmd.client_ip,
        )
        replay = await _replay(conn, asked, fingerprint)
        if replay is not None:
            place = replace(
                asked, package_id=replay.package_id, payment_method=replay.payment_method
            )
            return await _opened(
                pool, sub, replay, False, place, plans, providers, plans.plan(replay.package_id)
            )
        if plans.plan(sub.plan_id).is_free:
            raise NoPaidPlan("the free plan renews by itself")
        if sub.billing is Billing.STRIPE:
            raise RenewsAutomatically("Stripe charges this subscription's renewals itself")
        if sub.next_plan_id == plans.free.id:
            raise SubscriptionCanceling("the plan ends at the period's end (resume it first)")
        if sub.renewal_order_id is not None:
            raise RenewalNotDue("the next period is paid already")
        now = plans.now()
        due_from = sub.period.end - plans.timing.remind_before
        if now < due_from:
            raise RenewalNotDue(f"renewals open at {due_from.isoformat()}")
        for po in await repo.open_orders(conn, uuid.UUID(sub.id), ["renewal"]):
            if po.period_index == sub.period_index + 1:
                order = await orders_repo.get_order(conn, uuid.UUID(po.order_id))
                assert order is not None
                return Opened(sub, order, replayed=True)
        plan = plans.plan(sub.renewal_plan())
        assert sub.currency is not None
        price = plan.price_in(sub.currency)
        assert price is not None, "a paid plan is priced in its subscription's currency"
        method = cmd.payment_method or sub.payment_method or ""
        if method not in MANUAL_METHODS or not providers.is_offered(method, price.currency):
            raise orders.PaymentMethodUnavailable(
                f"{method or 'no method'} cannot renew in {price.currency} here"
            )
        period = sub.next_period
        month_index = period.index * sub.months
        facts = period_facts(
            plan, price, period, allowance_period(sub.anchor, month_index), kind="renewal"
        )
        place = orders.PlaceOrder(
            user_id=cmd.user_id,
            package_id=plan.id,
            payment_method=method,
            return_url=cmd.return_url,
            idempotency_key=cmd.idempotency_key,
            currency=price.currency,
            client_ip=cmd.client_ip,
        )
        order, created = await insert_order(
            conn,
            sub,
            place,
            facts,
            plans=plans,
            period=period,
            month=month_index,
            months=sub.months,
            fingerprint=fingerprint,
        )
    return await _opened(pool, sub, order, created, place, plans, providers, plan)


# ---- paid orders ------------------------------------------------------------------------------


async def _hold(conn: Connection, order: Order, now: datetime) -> tuple[str | None, Any]:
    po = await repo.plan_order(conn, uuid.UUID(order.id))
    if po is None:
        return None, None
    sub = await repo.get_for_update(conn, uuid.UUID(po.subscription_id))
    assert sub is not None
    reason = None
    if po.kind == "subscription" and sub.billing is not Billing.FREE:
        reason = "subscription_exists"
    elif (
        po.kind == "upgrade"
        and (
            sub.plan_id != po.from_plan_id
            or sub.period_index != po.period_index
            or sub.status is not Status.ACTIVE
            or now >= po.period_end
        )
    ) or (
        po.kind == "renewal"
        and (
            sub.billing is Billing.FREE
            or sub.period_index + 1 != po.period_index
            or (sub.renewal_order_id not in (None, order.id))
        )
    ):
        reason = "subscription_changed"
    return reason, (po, sub)


async def hold_reason(conn: Connection, order: Order, *, plans: Plans) -> str | None:
    """Why a plan's paid order cannot take effect as placed (the subscription moved on since:
    another plan bought, a period over, a plan ended): the payment is then held for review."""
    reason, _ = await _hold(conn, order, plans.now())
    return reason


async def order_paid(
    conn: Connection,
    order: Order,
    *,
    provider_event_id: str,
    review: orders.PaidReview,
    reviewed_by: str | None,
    plans: Plans,
) -> None:
    """A plan's order was paid: its subscription takes it in and its OrderPaidV1 is announced
    (a renewal paid before its period starts: when the period starts)."""
    now = plans.now()
    reason, found = await _hold(conn, order, now)
    if found is None:
        log.error("plan_order_without_subscription", order_id=order.id)
        await orders.announce_paid(
            conn, order, provider_event_id=provider_event_id, review=review, reviewed_by=reviewed_by
        )
        return
    po, sub = found
    if reason is not None:
        # An operator accepted a payment its subscription could not take: granted as ordered,
        # while its lots can still be (never a lot that expired already).
        log.warning("plan_order_accepted_as_it_is", order_id=order.id, reason=reason)
        await announce(conn, order, po, provider_event_id, review, reviewed_by, now, plans)
        return
    before = sub
    if po.kind == "subscription":
        sub = replace(
            sub,
            plan_id=po.plan_id,
            status=Status.ACTIVE,
            billing=billing_for(order.payment_method),
            currency=order.amount.currency,
            payment_method=order.payment_method,
            anchor=po.period_start,
            months=po.months,
            period_index=0,
            allowance_month=po.allowance_month,
            next_plan_id=None,
            renewal_order_id=None,
            reminded_period=None,
            grace_ends_at=None,
            version=sub.version + 1,
        )
        change_name = "subscribed"
    elif po.kind == "upgrade":
        sub = replace(sub, plan_id=po.plan_id, next_plan_id=None, version=sub.version + 1)
        change_name = "upgraded"
    elif po.kind == "renewal":
        if now < po.period_start:
            # Paid ahead: announced when the period starts (the sweep rolls it then).
            await repo.record_paid(
                conn,
                uuid.UUID(order.id),
                event_id=provider_event_id,
                review=review,
                reviewed_by=reviewed_by,
            )
            sub = replace(sub, renewal_order_id=order.id, payment_method=order.payment_method)
            await save(conn, sub, plans)
            log.info("renewal_paid_ahead", subscription_id=sub.id, order_id=order.id)
            return
        sub, change_name = rolled(sub, po, order)
    else:  # a free allowance: nothing changes but the grant
        await announce(conn, order, po, provider_event_id, review, reviewed_by, now, plans)
        await repo.mark_applied(conn, uuid.UUID(order.id), now)
        return
    sub = await save(conn, sub, plans)
    await changed(conn, before, sub, change_name, now=now, order_id=order.id)
    await announce(conn, order, po, provider_event_id, review, reviewed_by, now, plans)
    await repo.mark_applied(conn, uuid.UUID(order.id), now)


def rolled(sub: Subscription, po: repo.PlanOrder, order: Order) -> tuple[Subscription, str]:
    """The subscription in the period a renewal paid (a scheduled downgrade takes effect)."""
    change_name = "renewed"
    if sub.status is Status.PAST_DUE:
        change_name = "recovered"
    elif po.plan_id != sub.plan_id:
        change_name = "downgraded"
    rolled = replace(
        sub,
        plan_id=po.plan_id,
        status=Status.ACTIVE,
        period_index=po.period_index,
        allowance_month=po.allowance_month,
        next_plan_id=None,
        renewal_order_id=None,
        grace_ends_at=None,
        payment_method=order.payment_method
        if order.payment_method != STRIPE_INVOICE
        else sub.payment_method,
        version=sub.version + 1,
    )
    return rolled, change_name


async def announce(
    conn: Connection,
    order: Order,
    po: repo.PlanOrder,
    provider_event_id: str,
    review: str,
    reviewed_by: str | None,
    now: datetime,
    plans: Plans,
) -> None:
    live = [g for g in order.grants if g.expires_at is None or g.expires_at > now]
    if len(live) != len(order.grants):
        log.warning("plan_lot_expired_before_it_took_effect", order_id=order.id)
    await orders.announce_paid(
        conn,
        order,
        provider_event_id=provider_event_id,
        review=review,  # type: ignore[arg-type]
        reviewed_by=reviewed_by,
        plan=_plan_period(po, plans),
        grants=live,
    )
