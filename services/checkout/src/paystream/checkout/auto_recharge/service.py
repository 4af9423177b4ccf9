"""Auto-recharge: configure it, react to the ledger's balance.low, charge the saved card, follow
the outcome.

One attempt per threshold crossing (unique on the crossing's key, the balance.low envelope id,
or the manual trigger's key), at most one in flight per user and unit (a partial unique index),
caps checked when the attempt is made and again just before each charge, under the setting's
row lock. The charge's Stripe Idempotency-Key is the attempt id and its try number, and a try's
number only moves on after its outcome is recorded: a redelivered event, a replay of
ledger.events, a crashed worker or two replicas can never make a second charge for a crossing.

The consumer only records the attempt (in the batch's transaction); the charge is made by
`run_attempt` outside any transaction (the worker in `tasks.py`, or the manual trigger), in two
short transactions around the Stripe call, like `orders.service.place_order`.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
import structlog

from paystream.checkout.auto_recharge import repository as repo
from paystream.checkout.auto_recharge.domain import (
    REFUSED_EXPLANATION,
    REFUSED_METHODS,
    AutoRechargeConfig,
    Decision,
    Purchase,
    RechargeStatus,
    Setting,
    cap_refusal,
    day_start,
    decide,
    month_start,
)
from paystream.checkout.auto_recharge.repository import Attempt
from paystream.checkout.catalog.domain import Catalog
from paystream.checkout.orders import repository as orders_repo
from paystream.checkout.orders import service as orders
from paystream.checkout.orders.domain import OrderFacts, OrderStatus, parse_id
from paystream.checkout.payment_methods import repository as methods_repo
from paystream.checkout.payment_methods.service import PaymentMethodNotFound
from paystream.checkout.providers import PaymentInstructions, PaymentRequest, ProviderUnavailable
from paystream.checkout.providers.stripe import (
    PAYMENT_INTENT,
    order_metadata,
    payment_method_types,
    with_query,
)
from paystream.checkout.providers.stripe_saved import (
    ChargeOutcome,
    ChargeResult,
    StripeSavedMethods,
    off_session_params,
)
from paystream.checkout.quotes.service import QuoteRequest, make_quote
from paystream.checkout.quotes.signing import Signer
from paystream.shared.clock import Clock
from paystream.shared.db import Connection, transaction
from paystream.shared.errors import Conflict, NotFound, Unprocessable
from paystream.shared.events import (
    AutoRechargeConfiguredV1,
    AutoRechargeDisabledV1,
    AutoRechargeFailedV1,
    AutoRechargeRequiresActionV1,
    AutoRechargeSucceededV1,
    BalanceLowV1,
    Envelope,
    EventData,
    deterministic_id,
)
from paystream.shared.money import Money
from paystream.shared.outbox import enqueue

log = structlog.get_logger(__name__)

SOURCE = "paystream/checkout/auto-recharge"


class UnknownUnit(Unprocessable):
    code = "unknown_unit"


class MethodRefused(Unprocessable):
    code = "auto_recharge_method_refused"


class PaymentMethodRequired(Unprocessable):
    code = "payment_method_required"


class CapBelowAmount(Unprocessable):
    code = "cap_below_amount"


class CurrencyNotChargeable(Unprocessable):
    code = "currency_not_chargeable"


class NotConfigured(NotFound):
    code = "auto_recharge_not_configured"


class RechargeInFlight(Conflict):
    code = "recharge_in_flight"


class RechargeRefused(Conflict):
    code = "auto_recharge_not_active"


@dataclass(frozen=True, slots=True)
class Recharger:
    """What auto-recharge decides and charges with."""

    catalog: Catalog
    signer: Signer
    clock: Clock
    config: AutoRechargeConfig
    checkout: orders.CheckoutConfig
    stripe: StripeSavedMethods


@dataclass(frozen=True, slots=True)
class Configure:
    user_id: str
    actor: str
    unit: str
    enabled: bool
    threshold: int
    purchase: Purchase
    payment_method_id: str | None
    monthly_cap: Money
    daily_count_cap: int
    consent_text: str


# ---- what a recharge buys -------------------------------------------------------------------


def facts_for(purchase: Purchase, unit: str, user_id: str, r: Recharger) -> OrderFacts:
    """What one recharge sells and costs now (the catalog's prices), granted as `auto_recharge`
    lots. Refusals are the quotes' 4xx (unknown package, quantity or amount out of range...)."""
    quoted = make_quote(
        QuoteRequest(
            user_id=user_id,
            package_id=purchase.package_id,
            product_id=purchase.product_id,
            quantity=purchase.quantity,
            amount=purchase.amount,
            currency=purchase.currency,
        ),
        catalog=r.catalog,
        signer=r.signer,
        ttl=r.checkout.order_ttl,
    )
    facts = quoted.facts
    if any(g.unit != unit for g in facts.grants):
        raise UnknownUnit(f"{facts.item_id!r} does not sell {unit!r}")
    grants = tuple(g.model_copy(update={"source": "auto_recharge"}) for g in facts.grants)
    return dataclasses.replace(facts, grants=grants)


# ---- settings -------------------------------------------------------------------------------


async def configure(pool: asyncpg.Pool, cmd: Configure, r: Recharger) -> Setting:
    """Validate and store the settings, and (same transaction, through the outbox) tell the
    ledger the threshold to announce balance.low at (None when turned off)."""
    if cmd.unit not in {u.id for u in r.catalog.units}:
        raise UnknownUnit(f"unknown unit {cmd.unit!r}")
    currency = cmd.purchase.currency
    if "card" not in payment_method_types(currency):
        raise CurrencyNotChargeable(f"saved cards cannot be charged in {currency} here")
    if cmd.monthly_cap.currency != currency:
        raise Unprocessable(f"monthly_cap must be in {currency}")
    facts = facts_for(cmd.purchase, cmd.unit, cmd.user_id, r)
    if facts.amount.currency != currency:
        raise CurrencyNotChargeable(f"{facts.item_id!r} is not sold in {currency}")
    if facts.amount.minor > cmd.monthly_cap.minor:
        raise CapBelowAmount(f"one recharge costs {facts.amount}, more than the monthly cap")
    method = cmd.payment_method_id
    if method is not None and method.lower() in REFUSED_METHODS:
        raise MethodRefused(REFUSED_EXPLANATION)
    now = r.clock.now()
    async with transaction(pool) as conn:
        if method is not None:
            saved = await methods_repo.get_method(conn, cmd.user_id, method)
            if saved is None:
                raise PaymentMethodNotFound("no such saved payment method")
            if saved.type != "card":
                raise MethodRefused(REFUSED_EXPLANATION)
        elif cmd.enabled and not await methods_repo.list_methods(conn, cmd.user_id):
            raise PaymentMethodRequired("save a card first (POST /v1/payment-methods/setup)")
        current = await repo.lock_setting(conn, cmd.user_id, cmd.unit)
        in_flight = await repo.in_flight(conn, cmd.user_id, cmd.unit)
        # Turning it on again is how a user recovers a disabled one; a charge waiting for the
        # user's authentication keeps it waiting (completing it makes it active).
        waiting = current is not None and in_flight is not None
        waiting = waiting and in_flight is not None and in_flight.status == "requires_action"
        status = RechargeStatus.REQUIRES_ACTION if waiting else RechargeStatus.ACTIVE
        stored = await repo.put_setting(
            conn,
            Setting(
                user_id=cmd.user_id,
                unit=cmd.unit,
                enabled=cmd.enabled,
                status=status,
                threshold=cmd.threshold,
                purchase=cmd.purchase,
                payment_method_id=method,
                monthly_cap=cmd.monthly_cap,
                daily_count_cap=cmd.daily_count_cap,
                consent_text=cmd.consent_text,
                consent_at=now,
                last_error=current.last_error if waiting and current is not None else None,
                action_url=current.action_url if waiting and current is not None else None,
                created_at=current.created_at if current is not None else now,
                updated_at=now,
            ),
        )
        await _announce(
            conn,
            cmd.user_id,
            cmd.unit,
            AutoRechargeConfiguredV1(
                user_id=cmd.user_id,
                unit=cmd.unit,
                threshold=cmd.threshold if cmd.enabled else None,
                actor=cmd.actor,
                configured_at=now,
            ),
        )
    log.info("auto_recharge_configured", user_id=cmd.user_id, unit=cmd.unit, enabled=cmd.enabled)
    return stored


async def settings_of(pool: asyncpg.Pool, user_id: str) -> list[Setting]:
    async with pool.acquire() as conn:
        return await repo.settings_of(conn, user_id)


async def attempts_of(pool: asyncpg.Pool, user_id: str, limit: int = 20) -> list[Attempt]:
    async with pool.acquire() as conn:
        return await repo.list_attempts(conn, user_id, limit)


# ---- a crossing or a manual trigger makes an attempt ----------------------------------------


async def on_balance_low(
    conn: Connection, event_id: uuid.UUID, event: BalanceLowV1, r: Recharger
) -> Attempt | None:
    """The ledger says the balance crossed below a threshold: record this crossing's attempt
    (the worker charges it), or say why nothing is charged. Inside the consumer's transaction."""
    setting = await repo.lock_setting(conn, event.user_id, event.unit)
    if setting is None:
        return None  # a threshold the user set for themselves, not for auto-recharge
    if event.available >= setting.threshold:
        # An old threshold's crossing (the settings changed since): not below ours.
        log.info("balance_low_above_threshold", user_id=event.user_id, unit=event.unit)
        return None
    return await _new_attempt(conn, setting, str(event_id), "balance_low", r)


async def trigger(
    pool: asyncpg.Pool, user_id: str, unit: str, key: str | None, r: Recharger
) -> Attempt:
    """The manual trigger: an attempt now (refused while one is in flight), charged at once."""
    crossing = f"manual:{key or uuid.uuid4()}"
    async with transaction(pool) as conn:
        setting = await repo.lock_setting(conn, user_id, unit)
        if setting is None:
            raise NotConfigured(f"auto-recharge is not configured for {unit!r}")
        existing = await repo.attempt_by_crossing(conn, user_id, unit, crossing)
        if existing is None:
            why = setting.not_charging()
            if why is not None:
                raise RechargeRefused(why)
            if await repo.in_flight(conn, user_id, unit) is not None:
                raise RechargeInFlight("a recharge of this unit is already in flight")
            existing = await _new_attempt(conn, setting, crossing, "manual", r)
            if existing is None:
                raise RechargeInFlight("a recharge of this unit is already in flight")
    if existing.status in ("pending", "retrying"):
        await run_attempt(pool, existing.id, r)
    async with pool.acquire() as conn:
        found = await repo.attempt_by_crossing(conn, user_id, unit, crossing)
    assert found is not None
    return found


async def _new_attempt(
    conn: Connection,
    setting: Setting,
    crossing: str,
    trigger: Literal["balance_low", "manual"],
    r: Recharger,
) -> Attempt | None:
    user_id, unit = setting.user_id, setting.unit
    seen = await repo.attempt_by_crossing(conn, user_id, unit, crossing)
    if seen is not None:
        return seen  # this crossing was handled: whatever it became, nothing new
    why = setting.not_charging()
    if why is not None:
        log.info("auto_recharge_not_charging", user_id=user_id, unit=unit, reason=why)
        return None
    in_flight = await repo.in_flight(conn, user_id, unit)
    if in_flight is not None:
        log.info("auto_recharge_in_flight", user_id=user_id, unit=unit, attempt=in_flight.id)
        return None
    now = r.clock.now()
    try:
        amount = facts_for(setting.purchase, unit, user_id, r).amount
    except Unprocessable as exc:
        # The catalog changed under the settings: loud, and nothing charged.
        await _disable(conn, setting, "purchase_unavailable", exc.message, now)
        return None
    usage = await repo.usage(
        conn,
        user_id,
        unit,
        month_start=month_start(now),
        day_start=day_start(now),
        currency=amount.currency,
    )
    refusal = cap_refusal(setting, amount, usage)
    if refusal is not None:
        code, reason = refusal
        skipped = await repo.insert_attempt(
            conn,
            user_id=user_id,
            unit=unit,
            crossing_key=crossing,
            trigger=trigger,
            status="skipped",
            amount=amount,
            at=now,
            error_code=code,
            error=reason,
        )
        if skipped is not None:
            await repo.set_last_error(conn, user_id, unit, reason, now)
            await _event(conn, skipped, "failed", code=code, reason=reason, at=now)
        log.warning("auto_recharge_capped", user_id=user_id, unit=unit, code=code)
        return skipped
    return await repo.insert_attempt(
        conn,
        user_id=user_id,
        unit=unit,
        crossing_key=crossing,
        trigger=trigger,
        status="pending",
        amount=amount,
        at=now,
        # The trigger charges it in its own request: the worker leaves it alone for a lease.
        due_at=now + r.config.lease if trigger == "manual" else None,
    )


# ---- charging -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Charge:
    attempt: Attempt
    order_id: str
    customer_id: str
    method_id: str
    facts: OrderFacts


async def run_attempt(pool: asyncpg.Pool, attempt_id: str, r: Recharger) -> None:
    """Charge one due attempt: check it and open its order (one transaction), ask Stripe (no
    transaction), record what Stripe said (one transaction)."""
    charge = await _prepare(pool, attempt_id, r)
    if charge is None:
        return
    a = charge.attempt
    req = PaymentRequest(
        order_id=charge.order_id,
        user_id=a.user_id,
        package_id=charge.facts.item_id,
        package_name=charge.facts.name,
        credits=charge.facts.credits,
        amount=charge.facts.amount,
        payment_method=PAYMENT_INTENT,
        return_url=r.checkout.default_return_url,
        expires_at=r.clock.now(),
    )
    metadata = {**order_metadata(req), "auto_recharge_attempt": a.id}
    params = off_session_params(
        amount=charge.facts.amount,
        customer_id=charge.customer_id,
        payment_method_id=charge.method_id,
        metadata=metadata,
        description=f"Auto-recharge: {charge.facts.name}",
    )
    try:
        outcome = await r.stripe.charge_off_session(
            params, idempotency_key=f"paystream-auto-recharge-{a.id}-{a.tries}"
        )
    except ProviderUnavailable as exc:
        # Whether Stripe charged is unknown: the claim's lease runs out and the same try asks
        # again under the same key, which returns Stripe's first answer.
        log.warning("auto_recharge_stripe_unavailable", attempt=a.id, error=str(exc))
        return
    async with transaction(pool) as conn:
        await _record(conn, charge, outcome, r)


async def _prepare(pool: asyncpg.Pool, attempt_id: str, r: Recharger) -> _Charge | None:
    async with transaction(pool) as conn:
        attempt = await repo.lock_attempt(conn, attempt_id)
        if attempt is None or attempt.status not in ("pending", "retrying"):
            return None
        setting = await repo.lock_setting(conn, attempt.user_id, attempt.unit)
        now = r.clock.now()
        if setting is None or setting.not_charging() is not None:
            why = "auto-recharge was turned off" if setting is None else setting.not_charging()
            await _finish(conn, attempt, "skipped", None, "not_active", why, now)
            return None
        try:
            facts = facts_for(setting.purchase, setting.unit, setting.user_id, r)
        except Unprocessable as exc:
            await _finish(conn, attempt, "failed", None, "purchase_unavailable", exc.message, now)
            await _disable(conn, setting, "purchase_unavailable", exc.message, now)
            return None
        usage = await repo.usage(
            conn,
            attempt.user_id,
            attempt.unit,
            month_start=month_start(now),
            day_start=day_start(now),
            currency=facts.amount.currency,
            excluding=attempt.id,
        )
        refusal = cap_refusal(setting, facts.amount, usage)
        if refusal is not None:
            code, reason = refusal
            await _finish(conn, attempt, "skipped", None, code, reason, now)
            await repo.set_last_error(conn, setting.user_id, setting.unit, reason, now)
            await _event(conn, attempt, "failed", code=code, reason=reason, at=now)
            return None
        method = await _method_for(conn, setting)
        customer = await methods_repo.customer_of(conn, setting.user_id)
        if method is None or customer is None:
            reason = "no saved card to charge"
            await _finish(conn, attempt, "failed", None, "no_payment_method", reason, now)
            await _event(conn, attempt, "failed", code="no_payment_method", reason=reason, at=now)
            await _disable(conn, setting, "no_payment_method", reason, now)
            return None
        order, _ = await orders.open_order_for(
            conn,
            orders.PlaceOrder(
                user_id=attempt.user_id,
                package_id=facts.item_id,
                payment_method=PAYMENT_INTENT,
                return_url=None,
                # One order per try: a replayed prepare finds it again.
                idempotency_key=f"auto-recharge:{attempt.id}:{attempt.tries}",
            ),
            facts,
            config=dataclasses.replace(r.checkout, limits=None),
            now=now,
        )
        await repo.set_order(conn, attempt.id, order.id, method, now)
        return _Charge(attempt, order.id, customer, method, facts)


async def _method_for(conn: Connection, setting: Setting) -> str | None:
    if setting.payment_method_id is not None:
        chosen = await methods_repo.get_method(conn, setting.user_id, setting.payment_method_id)
        if chosen is not None:
            return chosen.id
    saved = await methods_repo.list_methods(conn, setting.user_id)
    cards = [m for m in saved if m.type == "card"]
    default = next((m for m in cards if m.is_default), None)
    if default is not None:
        return default.id
    return cards[0].id if cards else None


async def _record(conn: Connection, charge: _Charge, outcome: ChargeOutcome, r: Recharger) -> None:
    attempt = await repo.lock_attempt(conn, charge.attempt.id)
    if (
        attempt is None
        or attempt.tries != charge.attempt.tries
        or attempt.status
        not in (
            "pending",
            "retrying",
        )
    ):
        return  # another worker recorded this try already
    now = r.clock.now()
    tries = attempt.tries + 1
    decision = decide(outcome.result, tries, r.config)
    order = await orders_repo.get_order_for_update(conn, uuid.UUID(charge.order_id))
    assert order is not None
    if outcome.payment_intent_id is not None:
        await orders_repo.attach_session(
            conn,
            uuid.UUID(order.id),
            provider="stripe",
            instructions=PaymentInstructions(
                session_id=outcome.payment_intent_id,
                client_secret=outcome.client_secret,
                payment_method_types=("card",),
            ),
            expires_at=order.expires_at,
        )
    reason = outcome.message or outcome.code or outcome.result.value
    if decision.attempt in ("failed", "retrying") and order.status == OrderStatus.PENDING:
        # Nothing was taken: the order fails now (a later payment_failed event is a no-op).
        await orders.change_status(
            conn,
            order,
            OrderStatus.FAILED,
            reason=f"auto_recharge:{outcome.code or outcome.result.value}",
            now=now,
            failure_reason=reason,
        )
    retry_at = None if decision.retry_in is None else now + decision.retry_in
    await repo.finish_try(
        conn,
        attempt.id,
        status=decision.attempt,
        tries=tries,
        next_try_at=retry_at,
        provider_payment_id=outcome.payment_intent_id,
        error_code=outcome.code,
        error=None if decision.attempt in ("succeeded", "processing") else reason,
        at=now,
    )
    current = dataclasses.replace(attempt, tries=tries, order_id=order.id)
    await _apply(conn, current, decision, outcome, reason=reason, retry_at=retry_at, r=r, at=now)
    log.info(
        "auto_recharge_charged",
        attempt=attempt.id,
        result=outcome.result,
        code=outcome.code,
        tries=tries,
    )


async def _apply(
    conn: Connection,
    attempt: Attempt,
    decision: Decision,
    outcome: ChargeOutcome,
    *,
    reason: str,
    retry_at: datetime | None,
    r: Recharger,
    at: datetime,
) -> None:
    """The settings' transition and its events."""
    user_id, unit = attempt.user_id, attempt.unit
    code = outcome.code or outcome.result.value
    action_url = None
    if decision.setting is RechargeStatus.REQUIRES_ACTION and attempt.order_id is not None:
        action_url = with_query(r.config.action_url, order_id=attempt.order_id)
    if decision.setting is RechargeStatus.ACTIVE:
        await repo.set_status(
            conn, user_id, unit, RechargeStatus.ACTIVE, last_error=None, action_url=None, at=at
        )
    elif decision.setting is RechargeStatus.REQUIRES_ACTION:
        await repo.set_status(
            conn,
            user_id,
            unit,
            RechargeStatus.REQUIRES_ACTION,
            last_error=reason,
            action_url=action_url,
            at=at,
        )
    elif decision.setting is None and decision.attempt == "retrying":
        await repo.set_last_error(conn, user_id, unit, reason, at)
    for kind in decision.events:
        if kind == "succeeded":
            await _event(conn, attempt, "succeeded", at=at)
        elif kind == "requires_action":
            await _event(conn, attempt, "requires_action", reason=reason, url=action_url, at=at)
        elif kind == "failed":
            await _event(conn, attempt, "failed", code=code, reason=reason, retry=retry_at, at=at)
        elif kind == "disabled":
            setting = await repo.lock_setting(conn, user_id, unit)
            if setting is not None:
                exhausted = outcome.result is ChargeResult.TRANSIENT
                await _disable(
                    conn,
                    setting,
                    "retries_exhausted" if exhausted else code,
                    f"gave up after {attempt.tries} tries: {reason}" if exhausted else reason,
                    at,
                )


async def run_due(pool: asyncpg.Pool, r: Recharger, *, limit: int = 20) -> int:
    """One round of the worker: claim the attempts due and charge each."""
    now = r.clock.now()
    async with transaction(pool) as conn:
        due = await repo.claim_due(conn, now, now + r.config.lease, limit)
    for attempt_id in due:
        try:
            await run_attempt(pool, attempt_id, r)
        except Exception:
            # One attempt's failure must not starve the others; its lease brings it back.
            log.exception("auto_recharge_attempt_crashed", attempt=attempt_id)
    return len(due)


# ---- following the order's payment (payments.events) ---------------------------------------


async def orders_with_attempts(conn: Connection, order_ids: list[str]) -> frozenset[str]:
    """Which of these order ids (as the events name them) belong to an auto-recharge attempt:
    one query for a consumer's whole batch, so the payments of other orders skip `order_paid`
    and `order_failed`. An attempt names its order before the order is charged, so it is
    committed before any notification about the payment."""
    parsed = {oid: uid for oid in order_ids if (uid := parse_id(oid)) is not None}
    if not parsed:
        return frozenset()
    found = await repo.orders_with_attempts(conn, list(set(parsed.values())))
    return frozenset(oid for oid, uid in parsed.items() if uid in found)


async def order_paid(conn: Connection, order_id: str, r_clock: Clock) -> None:
    """The order of an attempt was paid (off-session, or on-session after authentication)."""
    attempt = await repo.attempt_of_order(conn, order_id)
    if attempt is None or attempt.status in ("succeeded", "skipped"):
        return
    now = r_clock.now()
    was = attempt.status
    await repo.finish_try(
        conn,
        attempt.id,
        status="succeeded",
        tries=max(attempt.tries, 1),
        next_try_at=None,
        provider_payment_id=None,
        error_code=None,
        error=None,
        at=now,
    )
    setting = await repo.lock_setting(conn, attempt.user_id, attempt.unit)
    if setting is not None and setting.status is RechargeStatus.REQUIRES_ACTION:
        await repo.set_status(
            conn,
            attempt.user_id,
            attempt.unit,
            RechargeStatus.ACTIVE,
            last_error=None,
            action_url=None,
            at=now,
        )
    log.info("auto_recharge_completed", attempt=attempt.id, was=was)
    await _event(conn, attempt, "succeeded", at=now)


async def order_failed(conn: Connection, order_id: str, reason: str, r_clock: Clock) -> None:
    """A charge Stripe was still processing failed: loud, and auto-recharge stops."""
    attempt = await repo.attempt_of_order(conn, order_id)
    if attempt is None or attempt.status != "processing":
        return
    now = r_clock.now()
    await repo.finish_try(
        conn,
        attempt.id,
        status="failed",
        tries=attempt.tries,
        next_try_at=None,
        provider_payment_id=None,
        error_code="payment_failed",
        error=reason,
        at=now,
    )
    await _event(conn, attempt, "failed", code="payment_failed", reason=reason, at=now)
    setting = await repo.lock_setting(conn, attempt.user_id, attempt.unit)
    if setting is not None:
        await _disable(conn, setting, "payment_failed", reason, now)


# ---- events ---------------------------------------------------------------------------------


async def _finish(
    conn: Connection,
    attempt: Attempt,
    status: Literal["skipped", "failed"],
    payment_id: str | None,
    code: str,
    reason: str | None,
    at: datetime,
) -> None:
    await repo.finish_try(
        conn,
        attempt.id,
        status=status,
        tries=attempt.tries,
        next_try_at=None,
        provider_payment_id=payment_id,
        error_code=code,
        error=reason,
        at=at,
    )


async def _disable(
    conn: Connection, setting: Setting, code: str, reason: str, at: datetime
) -> None:
    if setting.status is RechargeStatus.DISABLED:
        return
    await repo.set_status(
        conn,
        setting.user_id,
        setting.unit,
        RechargeStatus.DISABLED,
        last_error=reason,
        action_url=None,
        at=at,
    )
    await _announce(
        conn,
        setting.user_id,
        setting.unit,
        AutoRechargeDisabledV1(
            user_id=setting.user_id, unit=setting.unit, code=code, reason=reason, at=at
        ),
        key=("disabled", setting.user_id, setting.unit, at.isoformat()),
    )
    log.warning("auto_recharge_disabled", user_id=setting.user_id, unit=setting.unit, code=code)


async def _event(
    conn: Connection,
    attempt: Attempt,
    kind: Literal["succeeded", "requires_action", "failed"],
    *,
    code: str | None = None,
    reason: str | None = None,
    url: str | None = None,
    retry: datetime | None = None,
    at: datetime,
) -> None:
    data: EventData
    if kind == "succeeded":
        assert attempt.order_id is not None
        data = AutoRechargeSucceededV1(
            user_id=attempt.user_id,
            unit=attempt.unit,
            attempt_id=attempt.id,
            order_id=attempt.order_id,
            amount_minor=attempt.amount.minor,
            currency=attempt.amount.currency,
            at=at,
        )
    elif kind == "requires_action":
        data = AutoRechargeRequiresActionV1(
            user_id=attempt.user_id,
            unit=attempt.unit,
            attempt_id=attempt.id,
            order_id=attempt.order_id,
            reason=reason or "authentication_required",
            action_url=url,
            at=at,
        )
    else:
        data = AutoRechargeFailedV1(
            user_id=attempt.user_id,
            unit=attempt.unit,
            attempt_id=attempt.id,
            order_id=attempt.order_id,
            code=code or "failed",
            reason=reason or code or "failed",
            retry_at=retry,
            at=at,
        )
    # One event per attempt, kind and try: a transaction replayed after a crash announces once.
    await _announce(
        conn, attempt.user_id, attempt.unit, data, key=(kind, attempt.id, str(attempt.tries))
    )


async def _announce(
    conn: Connection,
    user_id: str,
    unit: str,
    data: EventData,
    *,
    key: tuple[str, ...] | None = None,
) -> None:
    await enqueue(
        conn,
        user_id,
        Envelope.wrap(
            data,
            source=SOURCE,
            subject=f"{user_id}/{unit}",
            id=None if key is None else deterministic_id("auto_recharge", *key),
        ),
    )
