"""Second payments: record one, keep it for an operator's eye, and refund, credit or only hold it
as the configured policy says (`domain`).

`receive` runs inside the consumer's transaction, with the order locked. A refund is opened
there (a pending refund row, which holds its amount) and made by the refunder (`tasks`) once
that transaction committed, like every refund: no provider call inside a transaction.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import asyncpg
import structlog

from paystream.checkout.metrics import second_payment
from paystream.checkout.orders import repository as orders_repo
from paystream.checkout.orders.domain import Assessment, Order, OrderStatus
from paystream.checkout.providers import ProviderError
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.refunds import repository as refunds_repo
from paystream.checkout.refunds.domain import RefundState
from paystream.checkout.second_payments import repository as repo
from paystream.checkout.second_payments.domain import (
    Action,
    Decision,
    SecondPayment,
    SecondPaymentPolicy,
    credit_key_for,
    decide,
    refund_id_for,
)
from paystream.shared.db import Connection
from paystream.shared.errors import UpstreamError
from paystream.shared.events import (
    PaymentSucceededV1,
    utcnow,
)
from paystream.shared.money import CURRENCY_EXPONENTS, Money

if TYPE_CHECKING:
    from paystream.checkout.subscriptions.service import Plans

log = structlog.get_logger(__name__)

SOURCE = "paystream/checkout"
REFUND_REASON = "second payment for an already paid order"


async def receive(
    conn: Connection,
    order: Order,
    event: PaymentSucceededV1,
    assessment: Assessment,
    *,
    policy: SecondPaymentPolicy,
    plans: Plans | None = None,
) -> SecondPayment | None:
    """A second payment for the locked, paid `order`: recorded once (None when it already was:
    a replayed notification, or another of the provider's events about it), reviewed, and
    refunded, credited or held as `policy` says."""
    from paystream.checkout.orders import service as orders

    assert event.provider_payment_id is not None, "a duplicate names its payment"
    decision = decide(policy, order, event)
    if event.currency.upper() not in CURRENCY_EXPONENTS:
        # No amount in an unknown currency can be kept (or refunded): only the review is.
        await orders._open_review(
            conn, order, event, _with(assessment, policy, decision), blocking=False
        )
        second_payment(event.provider, policy.value, decision.action.value)
        return None
    payment = await repo.insert_second_payment(
        conn,
        order_id=uuid.UUID(order.id),
        user_id=order.user_id,
        provider=event.provider,
        provider_payment_id=event.provider_payment_id,
        provider_session_id=event.provider_session_id,
        provider_event_id=event.provider_event_id,
        amount=Money(event.amount_minor, event.currency.upper()),
        paid_at=event.paid_at,
        action=decision.action,
        action_reason=decision.reason,
        at=utcnow(),
    )
    if payment is None:
        return None
    # Whatever the policy does, an operator sees that the order was paid twice, and what
    # checkout did about it.
    await orders._open_review(
        conn, order, event, _with(assessment, policy, decision), blocking=False
    )
    if decision.action is Action.REFUND:
        await _open_refund(conn, order, payment)
    elif decision.action is Action.CREDIT:
        await _credit(conn, order, payment, plans=plans)
    second_payment(event.provider, policy.value, decision.action.value)
    log.warning(
        "second_payment",
        order_id=order.id,
        provider_payment_id=payment.provider_payment_id,
        action=decision.action,
        reason=decision.reason,
    )
    return payment


def _with(assessment: Assessment, policy: SecondPaymentPolicy, decision: Decision) -> Assessment:
    """The review's details, with what the policy did."""
    details = dict(assessment.details or {})
    details["second_payment"] = {
        "policy": policy.value,
        "action": decision.action.value,
        **({"reason": decision.reason} if decision.reason else {}),
    }
    return Assessment(assessment.verdict, assessment.reasons, details)


async def _open_refund(conn: Connection, order: Order, payment: SecondPayment) -> None:
    """The payment's refund, pending (it holds its amount) until the refunder asks the provider.
    Its id is derived from the payment: the provider's idempotency key too."""
    refund_id = refund_id_for(payment.provider, payment.provider_payment_id)
    refund = await refunds_repo.insert_refund(
        conn,
        refund_id=refund_id,
        order_id=uuid.UUID(order.id),
        user_id=order.user_id,
        amount=payment.amount,
        reason=REFUND_REASON,
        status=RefundState.PENDING,
        provider=payment.provider,
        provider_refund_id=None,
        requested_by=SOURCE,
        idempotency_key=credit_key_for(payment.provider, payment.provider_payment_id),
        request_fingerprint=None,
        at=utcnow(),
        provider_payment_id=payment.provider_payment_id,
    )
    if refund is not None:
        await repo.set_outcome(conn, uuid.UUID(payment.id), refund_id=refund_id)


async def _credit(
    conn: Connection, order: Order, payment: SecondPayment, *, plans: Plans | None
) -> None:
    """The payment buys the order's content again: a new order of the same facts, paid by it,
    with its own OrderPaidV1 (so its own grant, its own invoice, and refunds of its own). The
    first order's OrderPaidV1 is announced once per order, so it could never carry a second
    grant honestly."""
    from paystream.checkout.orders import service as orders

    now = utcnow()
    created = await orders_repo.insert_order(
        conn,
        order_id=uuid.uuid4(),
        user_id=order.user_id,
        package_id=order.package_id,
        credits=order.credits,
        amount=order.amount,
        payment_method=order.payment_method,
        return_url=None,
        idempotency_key=credit_key_for(payment.provider, payment.provider_payment_id),
        request_fingerprint=None,
        expires_at=now,
        created_at=now,
        grants=order.grants,
        lines=order.lines,
        kind=order.kind,
    )
    if created is None:
        return  # made before, by another of the provider's events about this payment
    oid = uuid.UUID(created.id)
    await orders.announce_created(conn, created, reason=f"second_payment_of:{order.id}", now=now)
    recorded = await orders_repo.record_payment(
        conn,
        oid,
        paid_at=payment.paid_at,
        provider_payment_id=payment.provider_payment_id,
        provider_session_id=payment.provider_session_id,
        paid_amount_minor=payment.amount.minor,
        paid_currency=payment.amount.currency,
        amount_mismatch=False,
    )
    reason = f"payment_succeeded:{payment.provider}:{payment.provider_event_id}"
    paid = await orders.change_status(conn, recorded, OrderStatus.PAID, reason=reason, now=now)
    await orders.settle_paid(
        conn, paid, provider_event_id=payment.provider_event_id, review="matched", plans=plans
    )
    await repo.set_outcome(conn, uuid.UUID(payment.id), credited_order_id=oid)


# ---- the refunder ---------------------------------------------------------------------------


async def refund_due(pool: asyncpg.Pool, providers: ProviderRegistry, *, limit: int = 50) -> int:
    """Ask the providers for the refunds of second payments they have not acknowledged yet.
    Returns how many were asked."""
    from paystream.checkout.refunds import service as refunds

    async with pool.acquire() as conn:
        due = await repo.unasked_refunds(conn, limit)
    for rid in due:
        async with pool.acquire() as conn:
            refund = await refunds_repo.get_refund(conn, rid)
        if refund is None or refund.status is not RefundState.PENDING:
            continue
        try:
            done = await refunds.ask_provider(pool, refund, providers)
        except (UpstreamError, ProviderError) as exc:
            # A definite refusal: the refund is failed (recorded), for an operator (the review).
            log.error("second_payment_refund_refused", refund_id=str(rid), error=str(exc))
            continue
        log.info("second_payment_refund_asked", refund_id=done.id, status=done.status)
    return len(due)
