"""Asking the provider about an order's payment: `POST /v1/orders/{id}/sync` and the reconciler.

What the provider says is announced exactly as its notification would be: a paid payment as
PaymentSucceededV1, a failed one as PaymentFailedV1, on payments.events through the outbox,
under `payment_event_id` of the provider's payment reference (Alipay trade_no, WeChat Pay
transaction_id: the ids webhook-ingest gives the same payment), and applied to the order in the
same transaction. Whichever comes second, the notification or the query, changes nothing:
consumers' inboxes drop its envelope id, and checkout's order already holds that payment
(`Verdict.REPEAT`). Stripe's webhook ids are per Stripe event, so there the order's recorded
PaymentIntent alone makes the later copy a no-op.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import cast

import asyncpg
import structlog

from paystream.checkout.orders import repository as repo
from paystream.checkout.orders.domain import Order, OrderStatus
from paystream.checkout.orders.service import (
    apply_payment_failed,
    apply_payment_succeeded,
    get_order_for,
)
from paystream.checkout.providers import (
    PaymentLookup,
    PaymentProvider,
    PaymentState,
    ProviderError,
)
from paystream.checkout.providers.registry import METHOD_PROVIDER, ProviderRegistry
from paystream.checkout.reconcile import repository as checks
from paystream.checkout.second_payments.domain import SecondPaymentPolicy
from paystream.checkout.subscriptions.service import Plans
from paystream.shared.auth import Principal
from paystream.shared.db import Connection, transaction
from paystream.shared.errors import Conflict, TooManyRequests, UpstreamError
from paystream.shared.events import (
    Envelope,
    PaymentFailedV1,
    PaymentSucceededV1,
    Provider,
    payment_event_id,
    utcnow,
)
from paystream.shared.outbox import enqueue

log = structlog.get_logger(__name__)

SYNC_SOURCE = "paystream/checkout/sync"
RECONCILER_SOURCE = "paystream/checkout/reconciler"

# A payment may still be taken while the order is pending, and money taken for a failed,
# cancelled or expired order is credited (see domain.py): those are worth asking about.
SYNCABLE = frozenset(
    {OrderStatus.PENDING, OrderStatus.FAILED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
)


class ProviderNotConfigured(Conflict):
    code = "provider_not_configured"


class SyncRateLimited(TooManyRequests):
    code = "rate_limited"


def provider_of(order: Order, providers: ProviderRegistry) -> PaymentProvider | None:
    return providers.by_name(order.provider or "") or providers.for_method(order.payment_method)


async def sync_order(
    pool: asyncpg.Pool,
    principal: Principal,
    order_id: str,
    *,
    providers: ProviderRegistry,
    plans: Plans,
    min_interval: timedelta,
    source: str,
    second_payment: SecondPaymentPolicy = SecondPaymentPolicy.REFUND,
) -> tuple[Order, PaymentLookup | None]:
    """Ask the provider about the caller's order and apply what it says (see the module
    docstring); the order as it is now, and the provider's answer (None: nothing to ask)."""
    order = await get_order_for(pool, principal, order_id)
    if order.status not in SYNCABLE or order.provider_session_id is None:
        return order, None  # settled already, or never opened at a provider
    provider = provider_of(order, providers)
    if provider is None:
        raise ProviderNotConfigured(
            f"this order's provider ({order.provider or order.payment_method}) is not configured "
            "here, so it cannot be asked"
        )
    now = utcnow()
    async with transaction(pool) as conn:
        allowed_at = await checks.claim_sync(
            conn, uuid.UUID(order.id), now=now, interval=min_interval
        )
    if allowed_at is not None:
        wait = max(1, math.ceil((allowed_at - now).total_seconds()))
        raise SyncRateLimited(
            f"this order was asked about less than {min_interval.total_seconds():g} s ago",
            details={"retry_after_s": wait},
            headers={"Retry-After": str(wait)},
        )
    try:
        lookup = await provider.query_payment(order.provider_session_id, order.payment_method)
        async with transaction(pool) as conn:
            current = await apply_lookup(
                conn,
                uuid.UUID(order.id),
                lookup,
                source=source,
                plans=plans,
                second_payment=second_payment,
            )
    except ProviderError as exc:
        log.warning("order_sync_failed", order_id=order.id, error=str(exc))
        raise UpstreamError("the payment provider did not answer; try again later") from exc
    return current, lookup


async def apply_lookup(
    conn: Connection,
    order_id: uuid.UUID,
    lookup: PaymentLookup,
    *,
    source: str,
    plans: Plans,
    second_payment: SecondPaymentPolicy = SecondPaymentPolicy.REFUND,
) -> Order:
    """Announce and apply what the provider said about the order's payment (paid or failed;
    an open payment changes nothing). Runs in the caller's transaction. `plans` is what a
    plan's order is settled with, as the consumer settles it (its subscription takes it in);
    `second_payment` what a second payment for a paid order becomes, as the consumer decides."""
    order = await repo.get_order(conn, order_id)
    assert order is not None
    provider = cast(Provider, order.provider or METHOD_PROVIDER[order.payment_method])
    now = utcnow()
    if lookup.state is PaymentState.PAID:
        paid = _paid_event(order, provider, lookup, now)
        assert paid.provider_payment_id is not None
        await _announce(
            conn,
            order,
            paid,
            payment_event_id("payment", provider, paid.provider_payment_id),
            paid.paid_at,
            source,
        )
        await apply_payment_succeeded(conn, paid, plans=plans, second_payment=second_payment)
        log.info("order_payment_learned", order_id=order.id, provider=provider, source=source)
    elif lookup.state is PaymentState.FAILED and order.status is OrderStatus.PENDING:
        failed = _failed_event(order, provider, lookup, now)
        reference = failed.provider_payment_id or order.provider_session_id or order.id
        await _announce(
            conn,
            order,
            failed,
            payment_event_id("payment.failed", provider, reference),
            failed.failed_at,
            source,
        )
        await apply_payment_failed(conn, failed)
    current = await repo.get_order(conn, order_id)
    assert current is not None
    return current


def query_event_id(reference: str) -> str:
    """The `provider_event_id` of an outcome learned by asking (no notification has an id):
    one per payment, so sync and the reconciler name it alike."""
    return f"query:{reference}"


async def _announce(
    conn: Connection,
    order: Order,
    event: PaymentSucceededV1 | PaymentFailedV1,
    event_id: uuid.UUID,
    at: datetime,
    source: str,
) -> None:
    envelope = Envelope.wrap(event, source=source, subject=order.id, id=event_id, time=at)
    await enqueue(conn, order.user_id, envelope)


def _paid_event(
    order: Order, provider: Provider, lookup: PaymentLookup, now: datetime
) -> PaymentSucceededV1:
    if lookup.provider_payment_id is None or lookup.paid is None:
        raise ProviderError(f"{provider} said paid without naming the payment and its amount")
    return PaymentSucceededV1(
        order_id=order.id,
        user_id=order.user_id,
        package_id=order.package_id,
        credits=order.credits,
        amount_minor=lookup.paid.minor,
        currency=lookup.paid.currency,
        provider=provider,
        provider_event_id=query_event_id(lookup.provider_payment_id),
        provider_payment_id=lookup.provider_payment_id,
        provider_session_id=order.provider_session_id,
        paid_at=lookup.at or now,
    )


def _failed_event(
    order: Order, provider: Provider, lookup: PaymentLookup, now: datetime
) -> PaymentFailedV1:
    # WeChat Pay names a transaction closed before payment by its out_trade_no (the session),
    # as its notification's envelope id does.
    reference = lookup.provider_payment_id or order.provider_session_id or order.id
    return PaymentFailedV1(
        order_id=order.id,
        user_id=order.user_id,
        provider=provider,
        provider_event_id=query_event_id(reference),
        provider_payment_id=lookup.provider_payment_id,
        provider_session_id=order.provider_session_id,
        reason=lookup.reason or f"the provider says {lookup.status or 'failed'}",
        failed_at=lookup.at or now,
    )
