"""The reconciler: asks the providers about pending orders whose notification is late and about
pending refunds whose outcome is unknown, and settles them exactly as a notification would.

Each round claims what is due (one short transaction: `provider_checks` schedules the next
check with backoff), asks each provider with no transaction open, and applies each answer in its
own transaction: an order through `orders.sync.apply_lookup`, a refund through
`refunds.service.record_outcome` (failed only on the provider's definite word).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import asyncpg
import structlog
from prometheus_client import Counter

from paystream.checkout.orders import repository as orders_repo
from paystream.checkout.orders.sync import RECONCILER_SOURCE, apply_lookup, provider_of
from paystream.checkout.providers import ProviderError, ProviderUnavailable
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.reconcile import repository as repo
from paystream.checkout.refunds import repository as refunds_repo
from paystream.checkout.refunds.domain import RefundState
from paystream.checkout.refunds.service import record_outcome, refund_request, refunded_payment
from paystream.checkout.second_payments.domain import SecondPaymentPolicy
from paystream.checkout.subscriptions.service import Plans
from paystream.shared.db import transaction
from paystream.shared.events import utcnow

log = structlog.get_logger(__name__)

QUERIES = Counter(
    "paystream_reconcile_queries_total",
    "Questions the reconciler asked a provider, by what the answer was "
    "(paid / failed / open, succeeded / pending / manual; unavailable, error: no answer).",
    ["kind", "provider", "outcome"],
)
RESOLVED = Counter(
    "paystream_reconcile_resolved_total",
    "Orders and refunds the reconciler settled (the answer changed them), by outcome.",
    ["kind", "provider", "outcome"],
)


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    order_min_age: timedelta
    refund_min_age: timedelta
    backoff: timedelta
    backoff_max: timedelta
    batch: int = 100
    # What a second payment found for a paid order becomes (as the consumer decides it).
    second_payment: SecondPaymentPolicy = SecondPaymentPolicy.REFUND


@dataclass(slots=True)
class Round:
    """What one round did, for logs and tests."""

    queried: int = 0
    resolved: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, id, outcome)


async def reconcile_once(
    pool: asyncpg.Pool, providers: ProviderRegistry, config: ReconcileConfig, plans: Plans
) -> Round:
    """One round; `plans` settles a plan's order as the consumer would."""
    done = Round()
    await _orders(pool, providers, config, plans, done)
    await _refunds(pool, providers, config, done)
    if done.resolved:
        log.info("reconcile_resolved", queried=done.queried, resolved=done.resolved)
    return done


async def _claim(
    pool: asyncpg.Pool, kind: Literal["order", "refund"], age: timedelta, config: ReconcileConfig
) -> list[uuid.UUID]:
    now = utcnow()
    async with transaction(pool) as conn:
        return await repo.claim_due(
            conn,
            kind,
            now=now,
            created_before=now - age,
            backoff=config.backoff,
            backoff_max=config.backoff_max,
            limit=config.batch,
        )


async def _orders(
    pool: asyncpg.Pool,
    providers: ProviderRegistry,
    config: ReconcileConfig,
    plans: Plans,
    done: Round,
) -> None:
    for oid in await _claim(pool, "order", config.order_min_age, config):
        async with pool.acquire() as conn:
            order = await orders_repo.get_order(conn, oid)
        assert order is not None
        assert order.provider_session_id is not None
        provider = provider_of(order, providers)
        name = order.provider or "unknown"
        if provider is None:
            QUERIES.labels("order", name, "not_configured").inc()
            continue
        done.queried += 1
        try:
            lookup = await provider.query_payment(order.provider_session_id, order.payment_method)
            async with transaction(pool) as conn:
                current = await apply_lookup(
                    conn,
                    oid,
                    lookup,
                    source=RECONCILER_SOURCE,
                    plans=plans,
                    second_payment=config.second_payment,
                )
                await repo.set_outcome(conn, "order", oid, lookup.state.value)
        except ProviderError as exc:
            outcome = "unavailable" if isinstance(exc, ProviderUnavailable) else "error"
            QUERIES.labels("order", name, outcome).inc()
            log.warning("reconcile_order_unanswered", order_id=order.id, error=str(exc))
            continue
        QUERIES.labels("order", name, lookup.state.value).inc()
        if current.status != order.status:
            RESOLVED.labels("order", name, current.status.value).inc()
            done.resolved.append(("order", order.id, current.status.value))


async def _refunds(
    pool: asyncpg.Pool, providers: ProviderRegistry, config: ReconcileConfig, done: Round
) -> None:
    for rid in await _claim(pool, "refund", config.refund_min_age, config):
        async with pool.acquire() as conn:
            refund = await refunds_repo.get_refund(conn, rid)
            assert refund is not None
            order = await orders_repo.get_order(conn, uuid.UUID(refund.order_id))
            payment = await refunded_payment(conn, refund)
        assert order is not None
        provider = providers.by_name(refund.provider)
        if provider is None:
            QUERIES.labels("refund", refund.provider, "not_configured").inc()
            continue
        done.queried += 1
        try:
            outcome = await provider.query_refund(refund_request(refund, order, payment))
        except ProviderError as exc:
            kind = "unavailable" if isinstance(exc, ProviderUnavailable) else "error"
            QUERIES.labels("refund", refund.provider, kind).inc()
            log.warning("reconcile_refund_unanswered", refund_id=refund.id, error=str(exc))
            continue
        QUERIES.labels("refund", refund.provider, outcome.status.value).inc()
        async with transaction(pool) as conn:
            current = await refunds_repo.get_refund_for_update(conn, rid)
            assert current is not None
            if current.status is not RefundState.PENDING:
                continue  # a notification settled it meanwhile
            settled = await record_outcome(conn, current, outcome)
            await repo.set_outcome(conn, "refund", rid, outcome.status.value)
        if settled.status is not RefundState.PENDING:
            RESOLVED.labels("refund", refund.provider, settled.status.value).inc()
            done.resolved.append(("refund", refund.id, settled.status.value))
