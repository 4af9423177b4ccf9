"""Payments held for review: list them, and an operator's decision on each (accept, refund,
dismiss), recorded with who, when and why. Use cases take the pool and own their transactions
(`refund` two of them, around the provider call, as refunds do)."""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from paystream.checkout.orders import repository as orders_repo
from paystream.checkout.orders import service as orders
from paystream.checkout.orders.domain import OrderStatus, parse_id
from paystream.checkout.providers.registry import ProviderRegistry
from paystream.checkout.refunds import service as refunds
from paystream.checkout.reviews import repository as repo
from paystream.checkout.reviews.domain import Decision, Review, ReviewStatus, allowed
from paystream.checkout.subscriptions.service import Plans
from paystream.shared.auth import Principal
from paystream.shared.db import transaction
from paystream.shared.errors import Conflict, NotFound
from paystream.shared.events import utcnow
from paystream.shared.money import Money
from paystream.shared.pagination import KeysetCursor, keyset_page

log = structlog.get_logger(__name__)


class DecisionNotAllowed(Conflict):
    code = "decision_not_allowed"


async def list_reviews(
    pool: asyncpg.Pool,
    *,
    status: ReviewStatus | None,
    order_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Review], str | None]:
    before = KeysetCursor.from_query(cursor)
    oid = None if order_id is None else parse_id(order_id)
    if order_id is not None and oid is None:
        return [], None
    async with pool.acquire() as conn:
        rows = await repo.list_reviews(
            conn, status=status, order_id=oid, before=before, limit=limit + 1
        )
    return keyset_page(rows, limit, lambda r: KeysetCursor(r.created_at, r.id))


async def get_review(pool: asyncpg.Pool, review_id: str) -> Review:
    rid = parse_id(review_id)
    async with pool.acquire() as conn:
        review = None if rid is None else await repo.get_review(conn, rid)
    if review is None:
        raise NotFound("review not found")
    return review


def _check(review: Review | None, decision: Decision) -> Review:
    if review is None:
        raise NotFound("review not found")
    if decision not in allowed(review):
        if review.status is not ReviewStatus.OPEN:
            raise DecisionNotAllowed(f"this review was already decided ({review.status})")
        can = ", ".join(sorted(allowed(review)))
        raise DecisionNotAllowed(f"a review like this one can only be decided with: {can}")
    return review


async def accept(
    pool: asyncpg.Pool,
    review_id: str,
    admin: Principal,
    reason: str,
    *,
    plans: Plans | None = None,
) -> Review:
    """Accept the payment: a held order is paid and grants as ordered (OrderPaidV1, review
    "accepted", invoiced for what was paid); an overpayment is kept."""
    rid = parse_id(review_id)
    async with transaction(pool) as conn:
        review = _check(
            None if rid is None else await repo.get_review_for_update(conn, rid), Decision.ACCEPT
        )
        if review.blocking:
            assert review.order_id is not None, "a blocking review always has its order"
            order = await orders_repo.get_order_for_update(conn, review.order_id)
            if order is None or order.status is not OrderStatus.NEEDS_REVIEW:
                raise DecisionNotAllowed("the order no longer waits for this review")
            paid = await orders.change_status(
                conn,
                order,
                OrderStatus.PAID,
                reason=f"review_accepted:{admin.user_id}",
                now=utcnow(),
            )
            await orders.settle_paid(
                conn,
                paid,
                provider_event_id=review.provider_event_id,
                review="accepted",
                reviewed_by=admin.user_id,
                plans=plans,
            )
        decided = await repo.decide(
            conn,
            review.id,
            status=ReviewStatus.ACCEPTED,
            by=admin.user_id,
            at=utcnow(),
            reason=reason,
        )
    log.info("payment_review_accepted", review_id=str(review.id), by=admin.user_id)
    return decided


async def dismiss(pool: asyncpg.Pool, review_id: str, admin: Principal, reason: str) -> Review:
    """Close a review that needs nothing from paystream (settled at the provider by hand)."""
    rid = parse_id(review_id)
    async with transaction(pool) as conn:
        review = _check(
            None if rid is None else await repo.get_review_for_update(conn, rid), Decision.DISMISS
        )
        decided = await repo.decide(
            conn,
            review.id,
            status=ReviewStatus.DISMISSED,
            by=admin.user_id,
            at=utcnow(),
            reason=reason,
        )
    log.info("payment_review_dismissed", review_id=str(review.id), by=admin.user_id)
    return decided


async def refund(
    pool: asyncpg.Pool,
    review_id: str,
    admin: Principal,
    reason: str,
    *,
    providers: ProviderRegistry,
) -> Review:
    """Refund the payment through its provider: all of it for a held order (nothing was
    granted), the difference for an overpayment. The refund is an ordinary one (POST /v1/refunds
    with the review as its Idempotency-Key), so a retry of this request refunds once."""
    async with pool.acquire() as conn:
        rid = parse_id(review_id)
        review = _check(None if rid is None else await repo.get_review(conn, rid), Decision.REFUND)
    assert review.order_id is not None, "only a review with an order can be refunded"
    amount = None  # all that is left, for a held order
    if not review.blocking:
        asked = review.details.get("amount", {}).get("order", {})
        amount = Money(review.amount_minor - int(asked["minor"]), review.currency)
    requested = await refunds.request_refund(
        pool,
        refunds.RequestRefund(
            order_id=str(review.order_id),
            amount=amount,
            reason=f"payment review: {reason}",
            requested_by=admin.user_id,
            idempotency_key=f"review:{review.id}",
        ),
        providers=providers,
    )
    async with transaction(pool) as conn:
        current = await repo.get_review_for_update(conn, review.id)
        if current is None or current.status is not ReviewStatus.OPEN:
            # A concurrent retry of this request decided it first (the refund is the same one).
            assert current is not None
            return current
        decided = await repo.decide(
            conn,
            review.id,
            status=ReviewStatus.REFUNDED,
            by=admin.user_id,
            at=utcnow(),
            reason=reason,
            refund_id=uuid.UUID(requested.refund.id),
        )
    log.info("payment_review_refunded", review_id=str(review.id), by=admin.user_id)
    return decided
