"""Time and Stripe move subscriptions on: the sweep (reminders, allowance months, the end of a
period, the end of a grace period) and Stripe Subscriptions' notifications (a renewal charged, a
renewal that failed, a subscription Stripe ended). Each runs in its caller's transaction: the
sweep's own, or the consumer's batch.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

import structlog

from paystream.checkout.orders import repository as orders_repo
from paystream.checkout.orders import service as orders
from paystream.checkout.orders.domain import parse_id
from paystream.checkout.plans.domain import allowance_period
from paystream.checkout.subscriptions import repository as repo
from paystream.checkout.subscriptions.domain import STRIPE_INVOICE, Billing, Status, Subscription
from paystream.checkout.subscriptions.service import (
    MAX_STEPS,
    SOURCE,
    Plans,
    announce,
    changed,
    grant_free_month,
    insert_order,
    period_facts,
    rolled,
    save,
)
from paystream.shared.db import Connection
from paystream.shared.events import (
    Envelope,
    PaymentSucceededV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionRenewalDueV1,
    SubscriptionStatusV1,
    renewal_due_event_id,
)
from paystream.shared.outbox import enqueue

log = structlog.get_logger(__name__)

# Stripe's subscription statuses that mean it will not charge again.
STRIPE_ENDED = frozenset({"canceled", "unpaid", "incomplete_expired"})


# ---- the sweep ----------------------------------------------------------------------------------


async def sweep(conn: Connection, plans: Plans, *, limit: int = 100) -> int:
    """Move on every subscription whose next check is due; returns how many were looked at."""
    ids = await repo.lock_due(conn, now=plans.now(), limit=limit)
    for sid in ids:
        sub = await repo.get(conn, sid)
        assert sub is not None
        await advance(conn, sub, plans)
    return len(ids)


async def advance(conn: Connection, sub: Subscription, plans: Plans) -> Subscription:
    """Everything due for `sub` at checkout's now, in order: a renewal reminder, the next
    allowance month of an annual plan, the end of a period (renewed, past due, or the free plan),
    the end of a grace period. A clock moved far ahead is caught up step by step; allowances are
    granted only for the month that is current (a month already over grants nothing)."""
    now = plans.now()
    free = plans.free
    for _ in range(MAX_STEPS):
        period = sub.period
        if (
            sub.billing is Billing.MANUAL
            and sub.status is Status.ACTIVE
            and sub.next_plan_id != free.id
            and sub.reminded_period != sub.period_index
            and now >= period.end - plans.timing.remind_before
        ):
            await _remind(conn, sub, plans)
            sub = replace(sub, reminded_period=sub.period_index)
        month_end = allowance_period(sub.anchor, sub.allowance_month).end
        if sub.status is Status.ACTIVE and month_end <= now and month_end < period.end:
            sub = replace(sub, allowance_month=sub.allowance_month + 1)
            await grant_free_month(conn, sub, plans.plan(sub.plan_id), plans)
            continue
        if now < period.end:
            break
        if sub.status is Status.PAST_DUE:
            if sub.grace_ends_at is not None and now >= sub.grace_ends_at:
                sub = await drop_to_free(conn, sub, plans, at=sub.grace_ends_at, change="dropped")
                continue
            break
        if sub.billing is Billing.FREE:
            before = sub
            index = sub.period_index + 1
            sub = await save(conn, replace(sub, period_index=index, allowance_month=index), plans)
            if sub.period.end > now:  # announce the month that is current, not those skipped
                await changed(conn, before, sub, "renewed", now=now)
            await grant_free_month(conn, sub, free, plans)
            continue
        if sub.next_plan_id == free.id:
            sub = await drop_to_free(conn, sub, plans, at=period.end, change="canceled")
            continue
        if sub.billing is Billing.MANUAL:
            if sub.renewal_order_id is not None:
                sub = await _roll_paid_ahead(conn, sub, plans)
                continue
            before = sub
            sub = replace(
                sub,
                status=Status.PAST_DUE,
                grace_ends_at=period.end + plans.timing.grace,
                version=sub.version + 1,
            )
            sub = await save(conn, sub, plans)
            await changed(conn, before, sub, "past_due", now=now)
            continue
        break  # Stripe bills the next period: its invoice.paid rolls it
    return await save(conn, sub, plans)


async def _remind(conn: Connection, sub: Subscription, plans: Plans) -> None:
    plan = plans.plan(sub.renewal_plan())
    assert sub.currency is not None
    price = plan.price_in(sub.currency)
    assert price is not None
    nxt = sub.next_period
    event = SubscriptionRenewalDueV1(
        subscription_id=sub.id,
        user_id=sub.user_id,
        plan_id=plan.id,
        amount_minor=price.minor,
        currency=price.currency,
        period_start=nxt.start,
        period_end=nxt.end,
        due_at=sub.period.end,
        grace_ends_at=sub.period.end + plans.timing.grace,
        payment_method=sub.payment_method,
        reminded_at=plans.now(),
    )
    await enqueue(
        conn,
        sub.user_id,
        Envelope.wrap(
            event,
            source=SOURCE,
            subject=sub.id,
            id=renewal_due_event_id(sub.id, sub.period_index),
        ),
    )
    log.info("subscription_renewal_due", subscription_id=sub.id, due_at=sub.period.end)


async def _roll_paid_ahead(conn: Connection, sub: Subscription, plans: Plans) -> Subscription:
    """The next period starts and was paid ahead: roll into it and announce its order."""
    assert sub.renewal_order_id is not None
    oid = uuid.UUID(sub.renewal_order_id)
    po = await repo.plan_order(conn, oid)
    order = await orders_repo.get_order(conn, oid)
    assert po is not None
    assert order is not None
    before = sub
    sub, change = rolled(sub, po, order)
    sub = await save(conn, sub, plans)
    now = plans.now()
    await changed(conn, before, sub, change, now=now, order_id=order.id)
    await announce(
        conn,
        order,
        po,
        po.paid_event_id or f"checkout:renewal:{order.id}",
        po.paid_review or "matched",
        po.reviewed_by,
        now,
        plans,
    )
    await repo.mark_applied(conn, oid, now)
    return sub


async def drop_to_free(
    conn: Connection, sub: Subscription, plans: Plans, *, at: datetime, change: str
) -> Subscription:
    """The paid plan ends at `at`: the free plan from then on, its first month granted."""
    before = sub
    free = plans.free
    sub = replace(
        sub,
        plan_id=free.id,
        status=Status.ACTIVE,
        billing=Billing.FREE,
        currency=None,
        payment_method=None,
        anchor=at.replace(microsecond=0),
        months=1,
        period_index=0,
        allowance_month=0,
        next_plan_id=None,
        renewal_order_id=None,
        reminded_period=None,
        grace_ends_at=None,
        stripe_subscription_id=None,
        stripe_customer_id=None,
        version=sub.version + 1,
    )
    sub = await save(conn, sub, plans)
    await changed(conn, before, sub, change, now=plans.now())
    await grant_free_month(conn, sub, free, plans)
    return sub


# ---- Stripe Subscriptions -----------------------------------------------------------------------


async def _stripe_subscription(
    conn: Connection, subscription_id: str, user_id: str, provider_subscription_id: str
) -> Subscription | None:
    sid = parse_id(subscription_id)
    sub = None if sid is None else await repo.get_for_update(conn, sid)
    if sub is None or sub.user_id != user_id:
        log.error(
            "stripe_subscription_event_for_unknown_subscription",
            subscription_id=subscription_id,
            stripe_subscription=provider_subscription_id,
        )
        return None
    return sub


async def apply_invoice_paid(
    conn: Connection, event: SubscriptionInvoicePaidV1, plans: Plans
) -> None:
    """Stripe charged a subscription's invoice. The first one links Stripe's ids (the payment
    itself is the session's order); a renewal becomes that period's order, paid, which rolls the
    subscription (or is held for review if it cannot)."""
    sub = await _stripe_subscription(
        conn, event.subscription_id, event.user_id, event.provider_subscription_id
    )
    if sub is None:
        return
    if sub.stripe_subscription_id in (None, event.provider_subscription_id):
        sub = replace(
            sub,
            stripe_subscription_id=event.provider_subscription_id,
            stripe_customer_id=event.provider_customer_id or sub.stripe_customer_id,
        )
        sub = await save(conn, sub, plans)
    if event.billing_reason != "subscription_cycle":
        return
    if await repo.plan_order_by_invoice(conn, event.provider_invoice_id) is not None:
        return  # another notification of this invoice
    if (
        sub.billing is not Billing.STRIPE
        or sub.stripe_subscription_id != event.provider_subscription_id
    ):
        log.error(
            "stripe_renewal_for_a_subscription_not_billed_by_it",
            subscription_id=sub.id,
            stripe_subscription=event.provider_subscription_id,
            invoice=event.provider_invoice_id,
        )
    plan = plans.plan(sub.renewal_plan() if sub.billing is not Billing.FREE else sub.plan_id)
    currency = sub.currency or event.currency.upper()
    price = plan.price_in(currency)
    assert price is not None
    period = sub.next_period
    month = period.index * sub.months
    facts = period_facts(plan, price, period, allowance_period(sub.anchor, month), kind="renewal")
    place = orders.PlaceOrder(
        user_id=sub.user_id,
        package_id=plan.id,
        payment_method=STRIPE_INVOICE,
        return_url=None,
        idempotency_key=f"stripe-invoice:{event.provider_invoice_id}",
        currency=price.currency,
    )
    order, _ = await insert_order(
        conn,
        sub,
        place,
        facts,
        plans=plans,
        period=period,
        month=month,
        months=sub.months,
        stripe_invoice_id=event.provider_invoice_id,
    )
    # The invoice is the renewal's payment: checked against its order like any payment.
    await orders.apply_payment_succeeded(
        conn,
        PaymentSucceededV1(
            order_id=order.id,
            user_id=sub.user_id,
            package_id=plan.id,
            credits=order.credits,
            amount_minor=event.amount_minor,
            currency=event.currency,
            provider=event.provider,
            provider_event_id=event.provider_event_id,
            provider_payment_id=event.provider_payment_id or event.provider_invoice_id,
            provider_session_id=event.provider_invoice_id,
            paid_at=event.paid_at,
        ),
        plans=plans,
    )


async def apply_payment_failed(
    conn: Connection, event: SubscriptionPaymentFailedV1, plans: Plans
) -> None:
    """Stripe could not charge a renewal: past due while Stripe retries on its schedule."""
    sub = await _stripe_subscription(
        conn, event.subscription_id, event.user_id, event.provider_subscription_id
    )
    if sub is None or sub.billing is not Billing.STRIPE:
        return
    if sub.stripe_subscription_id != event.provider_subscription_id:
        return
    if sub.status is Status.PAST_DUE:
        log.info("stripe_renewal_failed_again", subscription_id=sub.id, attempt=event.attempt_count)
        return
    before = sub
    sub = await save(conn, replace(sub, status=Status.PAST_DUE, version=sub.version + 1), plans)
    await changed(conn, before, sub, "past_due", now=plans.now())


async def apply_status(conn: Connection, event: SubscriptionStatusV1, plans: Plans) -> None:
    """Stripe ended the subscription (deleted, canceled or unpaid after its retries): the free
    plan from now; Stripe says past_due: so is the subscription."""
    sub = await _stripe_subscription(
        conn, event.subscription_id, event.user_id, event.provider_subscription_id
    )
    if sub is None or sub.billing is not Billing.STRIPE:
        return
    if sub.stripe_subscription_id != event.provider_subscription_id:
        return
    if event.deleted or event.status in STRIPE_ENDED:
        await drop_to_free(conn, sub, plans, at=plans.now(), change="provider_ended")
    elif event.status == "past_due" and sub.status is Status.ACTIVE:
        before = sub
        sub = await save(conn, replace(sub, status=Status.PAST_DUE, version=sub.version + 1), plans)
        await changed(conn, before, sub, "past_due", now=plans.now())
