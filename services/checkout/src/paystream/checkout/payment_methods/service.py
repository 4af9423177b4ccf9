"""Saved payment methods: the user's Stripe Customer, SetupIntents, the list, the default, removal,
and Stripe's notifications about them (`PaymentMethodChangedV1`).

Stripe is the authority on what is saved: the endpoints ask Stripe first and record its answer
(one short transaction after the call, none held during it); the notifications keep the list
in step with what happened in Stripe.js or the dashboard. Ownership is checked on every call
against checkout's own table: another user's method is answered like an unknown one (404).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import asyncpg
import structlog

from paystream.checkout.payment_methods import repository as repo
from paystream.checkout.payment_methods.repository import SavedMethod
from paystream.checkout.providers import ProviderError
from paystream.checkout.providers.stripe_saved import (
    CustomerGone,
    SetupStarted,
    StripeSavedMethods,
)
from paystream.shared.db import Connection, transaction
from paystream.shared.errors import NotFound, Unprocessable, UpstreamError
from paystream.shared.events import PaymentMethodChangedV1, utcnow

log = structlog.get_logger(__name__)


class PaymentMethodNotFound(NotFound):
    code = "payment_method_not_found"


class PaymentMethodNotSupported(Unprocessable):
    code = "payment_method_not_supported"


@contextlib.contextmanager
def _upstream() -> Iterator[None]:
    """Stripe's refusal or silence is a 502 `upstream_error` to the caller, never a 500."""
    try:
        yield
    except ProviderError as exc:
        raise UpstreamError(f"Stripe did not do it: {exc}") from exc


async def ensure_customer(pool: asyncpg.Pool, stripe: StripeSavedMethods, user_id: str) -> str:
    """The user's Stripe Customer, created on first need (the idempotency key per user makes a
    racing second create return the same customer)."""
    async with pool.acquire() as conn:
        found = await repo.customer_of(conn, user_id)
    if found is not None:
        return found
    with _upstream():
        created = await stripe.create_customer(user_id)
    async with transaction(pool) as conn:
        return await repo.insert_customer(conn, user_id, created, utcnow())


async def start_setup(
    pool: asyncpg.Pool, stripe: StripeSavedMethods, user_id: str
) -> tuple[str, SetupStarted]:
    """The user's customer and a SetupIntent on it for Stripe.js to confirm."""
    customer = await ensure_customer(pool, stripe, user_id)
    with _upstream():
        try:
            return customer, await stripe.start_setup(customer, user_id)
        except CustomerGone:
            # Deleted at Stripe: its saved cards went with it; the user gets a new customer.
            log.warning("stripe_customer_gone", user_id=user_id, customer=customer)
            created = await stripe.create_customer(user_id, replacing=customer)
            async with transaction(pool) as conn:
                await repo.replace_customer(conn, user_id, customer, created, utcnow())
            return created, await stripe.start_setup(created, user_id)


async def list_saved(pool: asyncpg.Pool, user_id: str) -> list[SavedMethod]:
    async with pool.acquire() as conn:
        return await repo.list_methods(conn, user_id)


async def owned(conn: Connection, user_id: str, method_id: str) -> SavedMethod:
    found = await repo.get_method(conn, user_id, method_id)
    if found is None:
        raise PaymentMethodNotFound("no such saved payment method")
    return found


async def make_default(
    pool: asyncpg.Pool, stripe: StripeSavedMethods, user_id: str, method_id: str
) -> SavedMethod:
    async with pool.acquire() as conn:
        method = await owned(conn, user_id, method_id)
    with _upstream():
        await stripe.set_default(method.customer_id, method.id)
    async with transaction(pool) as conn:
        await repo.lock_user(conn, user_id)
        if not await repo.set_default(conn, user_id, method_id):
            raise PaymentMethodNotFound("no such saved payment method")
        return await owned(conn, user_id, method_id)


async def remove(
    pool: asyncpg.Pool, stripe: StripeSavedMethods, user_id: str, method_id: str
) -> None:
    async with pool.acquire() as conn:
        method = await owned(conn, user_id, method_id)
    with _upstream():
        await stripe.detach(method.id)
    async with transaction(pool) as conn:
        await repo.lock_user(conn, user_id)
        await repo.remove_method(conn, user_id, method_id)
        await _forget_in_auto_recharge(conn, user_id, method_id)


async def _forget_in_auto_recharge(conn: Connection, user_id: str, method_id: str) -> None:
    # A recharge set to charge a removed card falls back to the default one.
    from paystream.checkout.auto_recharge import repository as auto_repo

    await auto_repo.forget_payment_method(conn, user_id, method_id)


async def apply_change(conn: Connection, event: PaymentMethodChangedV1) -> None:
    """Follow Stripe's notification inside the consumer's transaction. A customer checkout did
    not create (another deployment on the account) is ignored."""
    user_id = customer_id = None
    if event.customer_id is not None:
        customer_id = event.customer_id
        user_id = await repo.user_of_customer(conn, customer_id)
    elif event.payment_method_id is not None:
        # A detached method may name no customer: checkout knows whose it was.
        known = await repo.method_by_id(conn, event.payment_method_id)
        if known is not None:
            user_id, customer_id = known.user_id, known.customer_id
    if user_id is None or customer_id is None:
        log.info("payment_method_change_not_ours", event=event.provider_event_id)
        return
    await repo.lock_user(conn, user_id)
    pm = event.payment_method_id
    if event.change in ("attached", "setup_succeeded") and pm is not None:
        await repo.upsert_method(
            conn,
            user_id=user_id,
            customer_id=customer_id,
            method_id=pm,
            type=event.type or "card",
            brand=event.brand,
            last4=event.last4,
            exp_month=event.exp_month,
            exp_year=event.exp_year,
            at=event.changed_at,
        )
    elif event.change == "detached" and pm is not None:
        await repo.remove_method(conn, user_id, pm)
        await _forget_in_auto_recharge(conn, user_id, pm)
    elif event.change == "default_changed" and pm is not None:
        await repo.set_default(conn, user_id, pm)
