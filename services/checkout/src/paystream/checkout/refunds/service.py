"""Refunds: an admin returns all or part of a paid order's money through its provider.

    POST /v1/refunds ──> refund row `pending` (holds the amount) ──> provider call ──>
        succeeded: RefundSucceededV1 on payments.events, order refunded / partially_refunded
        pending:   the provider's notification will say (webhook-ingest publishes the outcome)
                   or the reconciler's query will (`settle_pending`); also when the provider
                   gave no answer that can be believed (a timeout, a reset, a 5xx): the amount
                   stays held, because the provider may have refunded
        manual:    USDT; an operator pays out by hand and confirms it (confirm_payout)
        failed:    only on the provider's definite refusal; the amount is released

The refund row is written before the provider is asked, in its own transaction, so two admins
refunding the same order at once can never return more than was paid (the order row lock
serializes the check). The provider call sits outside any transaction, like order placement.

Every outcome, whichever source reports it (the provider's synchronous answer here, a webhook
later, a refund made in the provider's dashboard), ends in `apply_refund_succeeded` /
`apply_refund_failed`, consumed from payments.events: one place decides the order's status.
A provider's report that is not an outcome as it stands (`RefundReportedV1`: Alipay's cumulative
refund_fee, a dashboard refund that names no order) goes through `apply_refund_reported`, which
announces the refund with its own amount or lists it for an operator (`unmatched_refunds`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import structlog

from paystream.checkout.orders import repository as orders_repo
from paystream.checkout.orders.domain import (
    Order,
    can_transition,
    parse_id,
    status_after_refunds,
)
from paystream.checkout.orders.service import change_status
from paystream.checkout.providers import (
    ProviderError,
    ProviderUnavailable,
    RefundOutcome,
    RefundRequest,
    RefundStatus,
)
from paystream.checkout.providers.registry import METHOD_PROVIDER, ProviderRegistry
from paystream.checkout.refunds import repository as repo
from paystream.checkout.refunds.domain import (
    REFUNDABLE,
    Refund,
    RefundState,
    ReportVerdict,
    UnmatchedRefund,
    judge_report,
    refundable,
    request_fingerprint,
)
from paystream.checkout.second_payments import repository as second_payments_repo
from paystream.checkout.second_payments.domain import (
    AMBIGUOUS_REFUND,
    SecondPayment,
    refundable_apart,
)
from paystream.shared.auth import Principal
from paystream.shared.db import Connection, transaction
from paystream.shared.errors import Conflict, NotFound, Unprocessable, UpstreamError
from paystream.shared.events import (
    Envelope,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    refund_event_id,
    utcnow,
)
from paystream.shared.money import Money
from paystream.shared.outbox import enqueue
from paystream.shared.pagination import KeysetCursor, keyset_page

log = structlog.get_logger(__name__)

SOURCE = "paystream/checkout"


class OrderNotRefundable(Conflict):
    code = "order_not_refundable"


class AmountExceedsRefundable(Unprocessable):
    code = "amount_exceeds_refundable"


class CurrencyMismatch(Unprocessable):
    code = "currency_mismatch"


class UnknownPayment(Unprocessable):
    code = "unknown_payment"


class PaymentRefundAmbiguous(Unprocessable):
    code = "payment_refund_ambiguous"


class RefundNotManual(Conflict):
    code = "refund_not_awaiting_payout"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class RequestRefund:
    order_id: str
    amount: Money | None  # None: everything still refundable
    reason: str
    requested_by: str
    idempotency_key: str
    # The payment to return when it is a second payment of the order (second_payments); None
    # (or the order's own payment id): the order's payment.
    provider_payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class Requested:
    refund: Refund
    replayed: bool


async def request_refund(
    pool: asyncpg.Pool,
    cmd: RequestRefund,
    *,
    providers: ProviderRegistry,
) -> Requested:
    """Open the refund (its own transaction), ask the provider (no transaction open), record the
    answer (a second transaction)."""
    fingerprint = request_fingerprint(
        cmd.order_id, cmd.amount, cmd.reason, provider_payment_id=cmd.provider_payment_id
    )
    oid = parse_id(cmd.order_id)
    if oid is None:
        raise NotFound("order not found")
    async with transaction(pool) as conn:
        existing = await repo.get_refund_by_idempotency_key(
            conn, cmd.requested_by, cmd.idempotency_key
        )
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used with a different refund request"
                )
            refund, created = existing, False
        else:
            refund = await _open_refund(conn, oid, cmd, fingerprint)
            created = True

    if refund.status is not RefundState.PENDING or refund.provider_refund_id is not None:
        return Requested(refund, replayed=not created)
    # A pending refund the provider has not acknowledged: ours, or a replay of a request that
    # died between the two transactions. The provider call is idempotent on our refund id.
    return Requested(await ask_provider(pool, refund, providers), replayed=not created)


async def _open_refund(
    conn: Connection, oid: uuid.UUID, cmd: RequestRefund, fingerprint: str
) -> Refund:
    order = await orders_repo.get_order_for_update(conn, oid)
    if order is None:
        raise NotFound("order not found")
    if order.status not in REFUNDABLE:
        raise OrderNotRefundable(f"only a paid order can be refunded; this one is {order.status}")
    payment = await _second_payment_named(conn, order, cmd.provider_payment_id)
    left = refundable(order, await repo.refunds_of_order(conn, oid), payment=payment)
    amount = cmd.amount or left
    if amount.currency != left.currency:
        raise CurrencyMismatch(f"the order was paid in {left.currency}, not {amount.currency}")
    if amount.minor > left.minor or left.minor == 0:
        raise AmountExceedsRefundable(
            f"at most {left.format()} {left.currency} can still be refunded on this order"
        )
    refund = await repo.insert_refund(
        conn,
        refund_id=uuid.uuid4(),
        order_id=oid,
        user_id=order.user_id,
        amount=amount,
        reason=cmd.reason,
        status=RefundState.PENDING,
        provider=payment.provider
        if payment is not None
        else order.provider or METHOD_PROVIDER.get(order.payment_method, "stripe"),
        provider_refund_id=None,
        requested_by=cmd.requested_by,
        idempotency_key=cmd.idempotency_key,
        request_fingerprint=fingerprint,
        at=utcnow(),
        provider_payment_id=None if payment is None else payment.provider_payment_id,
    )
    # The (requester, key) pair is checked first under no lock; two concurrent requests with the
    # same key both get here, and the second one's INSERT waits for the first and finds it.
    if refund is None:
        raced = await repo.get_refund_by_idempotency_key(
            conn, cmd.requested_by, cmd.idempotency_key
        )
        assert raced is not None, "conflicting refund vanished"
        return raced
    log.info("refund_requested", refund_id=refund.id, order_id=order.id, amount=str(amount))
    return refund


async def _second_payment_named(
    conn: Connection, order: Order, provider_payment_id: str | None
) -> SecondPayment | None:
    """The second payment of `order` a refund request names; None for the order's own."""
    if provider_payment_id is None or provider_payment_id == order.provider_payment_id:
        return None
    for payment in await second_payments_repo.second_payments_of(conn, uuid.UUID(order.id)):
        if payment.provider_payment_id != provider_payment_id:
            continue
        if not refundable_apart(order, payment.provider, payment.provider_session_id):
            raise PaymentRefundAmbiguous(AMBIGUOUS_REFUND)
        return payment
    raise UnknownPayment(f"order {order.id} holds no payment {provider_payment_id!r}")


def refund_request(
    refund: Refund, order: Order, payment: SecondPayment | None = None
) -> RefundRequest:
    """What a provider is told about `refund` (creating it, or asking about it): the payment it
    returns is the order's, or `payment` (a second payment of the order) when it names one."""
    return RefundRequest(
        refund_id=refund.id,
        order_id=order.id,
        user_id=order.user_id,
        amount=refund.amount,
        payment_amount=payment.amount if payment else order.paid_amount() or order.amount,
        payment_method=order.payment_method,
        provider_payment_id=payment.provider_payment_id if payment else order.provider_payment_id,
        provider_session_id=payment.provider_session_id if payment else order.provider_session_id,
        reason=refund.reason,
        provider_refund_id=refund.provider_refund_id,
    )


async def refunded_payment(conn: Connection, refund: Refund) -> SecondPayment | None:
    """The second payment `refund` returns; None for a refund of the order's own payment."""
    if refund.provider_payment_id is None:
        return None
    return await second_payments_repo.get_by_payment(
        conn, refund.provider, refund.provider_payment_id
    )


async def ask_provider(pool: asyncpg.Pool, refund: Refund, providers: ProviderRegistry) -> Refund:
    """Ask the provider to make a pending refund (no transaction open), then record its answer
    (a transaction of its own). Idempotent on the refund id: asking again is safe."""
    async with pool.acquire() as conn:
        order = await orders_repo.get_order(conn, uuid.UUID(refund.order_id))
        payment = await refunded_payment(conn, refund)
    assert order is not None
    provider = providers.by_name(refund.provider)
    outcome: RefundOutcome | None = None
    error: str | None = None
    unknown: ProviderUnavailable | None = None
    if provider is None:
        error = f"provider {refund.provider} is not configured"
    else:
        try:
            outcome = await provider.refund(refund_request(refund, order, payment))
        except ProviderUnavailable as exc:
            unknown = exc
        except ProviderError as exc:
            error = str(exc)

    async with transaction(pool) as conn:
        current = await repo.get_refund_for_update(conn, uuid.UUID(refund.id))
        assert current is not None
        if current.status is not RefundState.PENDING or current.provider_refund_id is not None:
            return current  # a concurrent replay or the provider's webhook got there first
        now = utcnow()
        if unknown is not None:
            # The provider may have refunded: the refund stays pending and holds its amount
            # until a notification or the reconciler's query says what happened.
            log.warning("refund_outcome_unknown", refund_id=refund.id, error=str(unknown))
            return await repo.update_refund(
                conn,
                uuid.UUID(refund.id),
                status=RefundState.PENDING,
                at=now,
                provider_refund_id=unknown.provider_refund_id,
            )
        if outcome is not None and outcome.status is not RefundStatus.FAILED:
            return await record_outcome(conn, current, outcome)
        reason = error or (outcome.detail if outcome else None) or "refused by the provider"
        # The failed row stays as the record of the attempt and releases the held amount; a
        # retry needs a new Idempotency-Key.
        failed = await repo.update_refund(
            conn,
            uuid.UUID(refund.id),
            status=RefundState.FAILED,
            at=now,
            provider_refund_id=None if outcome is None else outcome.provider_refund_id,
            failure_reason=reason,
        )
        log.warning("refund_failed", refund_id=refund.id, reason=reason)
    if outcome is None:
        # Committed above; the provider refused, and the caller learns it now.
        raise UpstreamError(f"the payment provider did not refund: {error}")
    return failed


async def record_outcome(conn: Connection, refund: Refund, outcome: RefundOutcome) -> Refund:
    """Store what the provider said about a locked pending refund: announced and applied when
    it succeeded, failed (its amount released) only on the provider's definite word, still
    pending (or manual) otherwise."""
    now = utcnow()
    if outcome.status is RefundStatus.FAILED:
        reason = outcome.detail or "refused by the provider"
        log.warning("refund_failed", refund_id=refund.id, reason=reason)
        return await repo.update_refund(
            conn,
            uuid.UUID(refund.id),
            status=RefundState.FAILED,
            at=now,
            provider_refund_id=outcome.provider_refund_id,
            failure_reason=reason,
        )
    updated = await repo.update_refund(
        conn,
        uuid.UUID(refund.id),
        status=RefundState.MANUAL if outcome.status is RefundStatus.MANUAL else RefundState.PENDING,
        at=now,
        provider_refund_id=outcome.provider_refund_id,
    )
    if outcome.status is RefundStatus.SUCCEEDED:
        updated = await announce_succeeded(conn, updated)
    return updated


async def announce_succeeded(conn: Connection, refund: Refund) -> Refund:
    """The provider said the money went back: announce it (the one event every source uses)
    and apply it to the order now."""
    assert refund.provider_refund_id is not None
    now = utcnow()
    event = RefundSucceededV1(
        order_id=refund.order_id,
        user_id=refund.user_id,
        refund_id=refund.id,
        provider=refund.provider,
        provider_refund_id=refund.provider_refund_id,
        # Named only for a second payment's refund: the ledger and invoicing leave it alone.
        provider_payment_id=refund.provider_payment_id,
        amount_minor=refund.amount.minor,
        currency=refund.amount.currency,
        reason=refund.reason,
        refunded_at=now,
    )
    await _announce(conn, event)
    current = await repo.get_refund(conn, uuid.UUID(refund.id))
    assert current is not None
    return current


async def _announce(conn: Connection, event: RefundSucceededV1) -> None:
    """To payments.events through the outbox, under the id every source of this refund uses,
    and applied to the order now."""
    await enqueue(
        conn,
        event.user_id,
        Envelope.wrap(
            event,
            source=SOURCE,
            subject=event.order_id,
            id=refund_event_id("succeeded", event.provider, event.provider_refund_id),
            time=event.refunded_at,
        ),
    )
    await apply_refund_succeeded(conn, event)


async def confirm_payout(pool: asyncpg.Pool, refund_id: str, reference: str) -> Refund:
    """An operator paid a manual (USDT) refund out by hand: it succeeded."""
    rid = parse_id(refund_id)
    async with transaction(pool) as conn:
        refund = None if rid is None else await repo.get_refund_for_update(conn, rid)
        if refund is None:
            raise NotFound("refund not found")
        if refund.status is RefundState.SUCCEEDED and refund.payout_reference == reference:
            return refund  # the same confirmation again
        if refund.status is not RefundState.MANUAL:
            raise RefundNotManual(f"this refund is {refund.status}, not awaiting a manual payout")
        updated = await repo.update_refund(
            conn,
            uuid.UUID(refund.id),
            status=RefundState.MANUAL,
            at=utcnow(),
            payout_reference=reference,
        )
        return await announce_succeeded(conn, updated)


# ---- outcomes from payments.events ----------------------------------------------------------


async def apply_refund_succeeded(conn: Connection, event: RefundSucceededV1) -> None:
    """Record the refund as succeeded (creating it if it was made in the provider's dashboard)
    and move the order to refunded / partially_refunded."""
    oid = parse_id(event.order_id)
    order = None if oid is None else await orders_repo.get_order_for_update(conn, oid)
    if order is None or oid is None:
        await _list_unmatched(conn, event, "the refund names an order checkout does not have")
        return
    refund = await _find_refund(conn, event.refund_id, event.provider, event.provider_refund_id)
    second = await _second_payment_refunded(conn, order, refund, event)
    if refund is None and second is not None and second.credited_order_id is not None:
        # Made at the provider, of a payment that paid another order (the credit policy): the
        # event names this order (the payment's metadata), so neither order, nor the ledger,
        # nor invoicing can take it as that order's refund. For an operator, never guessed.
        await _list_unmatched(
            conn,
            event,
            f"refunds payment {second.provider_payment_id}, which paid order"
            f" {second.credited_order_id} (a second payment of this order, credited): that"
            " order's credits and invoice still stand",
        )
        return
    now = utcnow()
    await repo.resolve_unmatched(conn, event.provider, event.provider_refund_id, now)
    if refund is None:
        await repo.insert_refund(
            conn,
            refund_id=uuid.uuid4(),
            order_id=oid,
            user_id=order.user_id,
            amount=event.amount(),
            reason=event.reason or "refunded at the provider",
            status=RefundState.SUCCEEDED,
            provider=event.provider,
            provider_refund_id=event.provider_refund_id,
            requested_by=None,
            idempotency_key=None,
            request_fingerprint=None,
            at=event.refunded_at,
            provider_payment_id=None if second is None else second.provider_payment_id,
        )
        log.info("refund_learned_from_provider", order_id=order.id, key=event.refund_key)
    elif refund.status is not RefundState.SUCCEEDED:
        await repo.update_refund(
            conn,
            uuid.UUID(refund.id),
            status=RefundState.SUCCEEDED,
            at=now,
            provider_refund_id=event.provider_refund_id,
        )
    else:
        return  # already applied
    if second is not None:
        # A second payment went back: the order, its first payment and its status are as they
        # were (the payment's own refunds are measured against it, `refundable`).
        log.info("second_payment_refunded", order_id=order.id, key=event.refund_key)
        return
    refunded = await repo.set_refunded_minor(conn, oid)
    paid = order.paid_amount() or order.amount
    target = status_after_refunds(paid.minor, refunded)
    if not can_transition(order.status, target):
        log.warning(
            "refund_for_order_not_paid",
            order_id=order.id,
            status=order.status,
            key=event.refund_key,
        )
        return
    await change_status(
        conn,
        order,
        target,
        reason=f"refund_succeeded:{event.refund_key}",
        now=now,
    )


async def _second_payment_refunded(
    conn: Connection, order: Order, refund: Refund | None, event: RefundSucceededV1
) -> SecondPayment | None:
    """The second payment of `order` this refund returns, by our refund's record or by the
    payment the provider's event names; None for a refund of the order's own payment."""
    pid = refund.provider_payment_id if refund is not None else event.provider_payment_id
    if pid is None or pid == order.provider_payment_id:
        return None
    payment = await second_payments_repo.get_by_payment(conn, event.provider, pid)
    return payment if payment is not None and payment.order_id == order.id else None


async def apply_refund_reported(conn: Connection, event: RefundReportedV1) -> None:
    """A provider's report of a refund: announced with the refund's own amount (see
    `judge_report`), or listed for an operator when its order or its amount is not known."""
    order = await _reported_order(conn, event)
    refund = None if order is None else await _reported_refund(conn, order.id, event)
    if order is None:
        reason = (
            f"no order holds the payment {event.provider_payment_id}"
            if event.provider_payment_id
            else "the report names neither an order nor a payment"
        )
    else:
        decision = judge_report(
            refund,
            currency=event.currency,
            own=event.amount_minor,
            total=event.refunded_total_minor,
        )
        if decision.verdict is ReportVerdict.APPLIED:
            return
        if decision.verdict is ReportVerdict.APPLY:
            assert decision.amount is not None
            await _announce(conn, _reported_success(event, order, refund, decision.amount))
            return
        assert decision.reason is not None
        reason = decision.reason
    await _list_unmatched(conn, event, reason)


async def _list_unmatched(
    conn: Connection, event: RefundSucceededV1 | RefundReportedV1, reason: str
) -> None:
    """Money went back that checkout cannot apply: kept for an operator, not only logged."""
    log.error("refund_unmatched", key=event.refund_key, order_id=event.order_id, reason=reason)
    await repo.record_unmatched(
        conn,
        provider=event.provider,
        provider_refund_id=event.provider_refund_id,
        provider_payment_id=event.provider_payment_id,
        order_ref=event.order_id,
        user_id=event.user_id,
        amount_minor=event.amount_minor,
        refunded_total_minor=(
            event.refunded_total_minor if isinstance(event, RefundReportedV1) else None
        ),
        currency=event.currency,
        reason=reason,
        refunded_at=event.refunded_at,
    )


async def _reported_order(conn: Connection, event: RefundReportedV1) -> Order | None:
    """The order the report names, else the one holding the payment it names (locked)."""
    oid = None if event.order_id is None else parse_id(event.order_id)
    if oid is not None:
        return await orders_repo.get_order_for_update(conn, oid)
    if event.order_id is None and event.provider_payment_id:
        order = await orders_repo.get_order_by_payment_for_update(
            conn, event.provider, event.provider_payment_id
        )
        if order is None:
            # A second payment of an order is not the order's payment, but it is the order's.
            second = await second_payments_repo.get_by_payment(
                conn, event.provider, event.provider_payment_id
            )
            if second is not None:
                order = await orders_repo.get_order_for_update(conn, uuid.UUID(second.order_id))
        return order
    return None


async def _reported_refund(
    conn: Connection, order_id: str, event: RefundReportedV1
) -> Refund | None:
    """Ours, by the provider's id for it; for Alipay and WeChat Pay that id is our refund id,
    which a refund still waiting for the provider's first answer has not stored yet."""
    refund = await repo.get_refund_by_provider_id(conn, event.provider, event.provider_refund_id)
    if refund is None:
        rid = parse_id(event.provider_refund_id)
        refund = None if rid is None else await repo.get_refund_for_update(conn, rid)
    if refund is None or refund.order_id != order_id or refund.provider != event.provider:
        return None
    return refund


def _reported_success(
    event: RefundReportedV1, order: Order, refund: Refund | None, amount: Money
) -> RefundSucceededV1:
    return RefundSucceededV1(
        order_id=order.id,
        user_id=order.user_id,
        refund_id=None if refund is None else refund.id,
        provider=event.provider,
        provider_refund_id=event.provider_refund_id,
        provider_payment_id=event.provider_payment_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        reason=(refund.reason if refund is not None else None) or event.reason,
        refunded_at=event.refunded_at,
    )


async def apply_refund_failed(conn: Connection, event: RefundFailedV1) -> None:
    """The provider could not return the money: the refund is failed and its amount released."""
    refund = await _find_refund(conn, event.refund_id, event.provider, event.provider_refund_id)
    if refund is None:
        log.warning("refund_failure_for_unknown_refund", key=event.refund_key)
        return
    if refund.status is RefundState.SUCCEEDED:
        log.error("refund_failed_after_success", refund_id=refund.id, key=event.refund_key)
        return
    await repo.update_refund(
        conn,
        uuid.UUID(refund.id),
        status=RefundState.FAILED,
        at=utcnow(),
        provider_refund_id=event.provider_refund_id,
        failure_reason=event.reason,
    )


async def _find_refund(
    conn: Connection, refund_id: str | None, provider: str, provider_refund_id: str
) -> Refund | None:
    refund = await repo.get_refund_by_provider_id(conn, provider, provider_refund_id)
    if refund is None and refund_id is not None:
        rid = parse_id(refund_id)
        refund = None if rid is None else await repo.get_refund_for_update(conn, rid)
    return refund


# ---- reading --------------------------------------------------------------------------------


async def get_refund_for(pool: asyncpg.Pool, principal: Principal, refund_id: str) -> Refund:
    """The refund if the caller owns its order or is an admin; otherwise NotFound."""
    rid = parse_id(refund_id)
    if rid is None:
        raise NotFound("refund not found")
    async with pool.acquire() as conn:
        refund = await repo.get_refund(conn, rid)
    if refund is None or not (principal.is_admin or refund.user_id == principal.user_id):
        raise NotFound("refund not found")
    return refund


async def list_refunds_for(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    order_id: str | None,
    status: RefundState | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Refund], str | None]:
    before = KeysetCursor.from_query(cursor)
    oid = None
    if order_id is not None:
        oid = parse_id(order_id)
        if oid is None:
            return [], None
    user_id = None if principal.is_admin else principal.user_id
    async with pool.acquire() as conn:
        rows = await repo.list_refunds(
            conn, order_id=oid, user_id=user_id, status=status, before=before, limit=limit + 1
        )
    return keyset_page(rows, limit, lambda r: KeysetCursor(r.created_at, uuid.UUID(r.id)))


async def list_unmatched(
    pool: asyncpg.Pool, *, include_resolved: bool, limit: int, cursor: str | None
) -> tuple[list[UnmatchedRefund], str | None]:
    before = KeysetCursor.from_query(cursor)
    async with pool.acquire() as conn:
        rows = await repo.list_unmatched(
            conn, include_resolved=include_resolved, before=before, limit=limit + 1
        )
    return keyset_page(rows, limit, lambda r: KeysetCursor(r.created_at, uuid.UUID(r.id)))
