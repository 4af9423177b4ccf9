"""Orders: place them (with a provider session), follow their payments, cancel and expire them.

Every status change goes through the state machine in `domain`, is kept in
`order_status_changes` and is announced as OrderStatusChangedV1 through the outbox, in the
transaction of the change. Functions handed the pool own their transactions; functions handed a
connection run inside their caller's.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, cast
from urllib.parse import urlsplit

import asyncpg
import orjson
import structlog

from paystream.checkout.catalog.domain import Catalog, Package
from paystream.checkout.metrics import payment_outcome
from paystream.checkout.orders import repository as repo
from paystream.checkout.orders.domain import (
    Assessment,
    Order,
    OrderFacts,
    OrderStatus,
    Verdict,
    assess_payment,
    can_transition,
    check_transition,
    package_facts,
    parse_id,
)
from paystream.checkout.providers import PaymentRequest, ProviderError, Recurring
from paystream.checkout.providers.registry import METHOD_PROVIDER, ProviderRegistry
from paystream.checkout.quotes import domain as quotes
from paystream.checkout.quotes.signing import Signer, TokenInvalid
from paystream.checkout.reviews import repository as reviews_repo
from paystream.checkout.second_payments.domain import SecondPaymentPolicy
from paystream.shared.auth import Principal
from paystream.shared.db import Connection, transaction
from paystream.shared.errors import (
    Conflict,
    NotFound,
    TooManyRequests,
    Unprocessable,
    UpstreamError,
)
from paystream.shared.events import (
    Envelope,
    EventData,
    GrantSpec,
    OrderCreatedV1,
    OrderPaidV1,
    OrderStatusChangedV1,
    PaymentFailedV1,
    PaymentSucceededV1,
    PlanPeriodV1,
    Provider,
    deterministic_id,
    order_paid_event_id,
    utcnow,
)
from paystream.shared.money import Money
from paystream.shared.outbox import enqueue
from paystream.shared.pagination import KeysetCursor, keyset_page

if TYPE_CHECKING:
    from paystream.checkout.subscriptions.service import Plans

log = structlog.get_logger(__name__)

SOURCE = "paystream/checkout"


class UnknownPackage(Unprocessable):
    code = "unknown_package"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"


class CurrencyNotOffered(Unprocessable):
    code = "currency_not_offered"


class PaymentMethodUnavailable(Unprocessable):
    code = "payment_method_unavailable"


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"


class UnknownProduct(Unprocessable):
    code = "unknown_product"


class ReturnUrlNotAllowed(Unprocessable):
    code = "return_url_not_allowed"


class TooManyOpenOrders(TooManyRequests):
    code = "too_many_open_orders"


class OrderRateLimited(TooManyRequests):
    code = "order_rate_limited"


@dataclass(frozen=True, slots=True)
class OrderLimits:
    """Per user: each order opens a provider session (which costs money) and a USDT order holds
    one of a small pool of exact amounts, so no user may hold many or open them fast."""

    max_open: int
    max_created: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class CheckoutConfig:
    order_ttl: timedelta
    default_return_url: str
    # Hosts a return_url may name (exact, or `*.example.com` for its subdomains); the default
    # return URL's host is always allowed. Any other would make the provider's genuine payment
    # page an open redirect.
    return_url_hosts: frozenset[str] = frozenset()
    limits: OrderLimits | None = None
    # POST /v1/orders/{id}/sync asks the provider at most this often per order.
    sync_min_interval: timedelta = timedelta(seconds=5)
    # What a sync that finds a second payment for a paid order does (as the consumer would).
    second_payment: SecondPaymentPolicy = SecondPaymentPolicy.REFUND

    def allows_return_to(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        if host and host == urlsplit(self.default_return_url).hostname:
            return True
        for allowed in self.return_url_hosts:
            allowed = allowed.lower()
            if allowed.startswith("*.") and host.endswith(allowed[1:]):
                return True
            if host == allowed:
                return True
        return False


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    user_id: str
    # A package at its catalog price, or a signed quote (a quantity, a custom amount): one of.
    package_id: str | None
    payment_method: str
    return_url: str | None
    idempotency_key: str | None
    currency: str | None = None
    client_ip: str | None = None
    quote: str | None = None
    # The payer's Stripe Customer when the card paying is to be saved (issue 12).
    save_card_customer: str | None = None


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    replayed: bool


def request_fingerprint(cmd: PlaceOrder) -> str:
    """What makes two requests "the same body" for an Idempotency-Key."""
    canonical = orjson.dumps(
        {
            "package_id": cmd.package_id,
            "payment_method": cmd.payment_method,
            "return_url": cmd.return_url,
            "currency": cmd.currency,
            "quote": cmd.quote,
            # Only when asked: the fingerprints of every other request stay what they were.
            **({"save_card": True} if cmd.save_card_customer else {}),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


# ---- status changes -------------------------------------------------------------------------


async def _announce(conn: Connection, order: Order, data: EventData) -> None:
    await enqueue(conn, order.user_id, Envelope.wrap(data, source=SOURCE, subject=order.id))


async def change_status(
    conn: Connection,
    order: Order,
    target: OrderStatus,
    *,
    reason: str,
    now: datetime,
    failure_reason: str | None = None,
) -> Order:
    """Move a locked order to `target` (no-op if already there); IllegalTransition if refused."""
    if not check_transition(order.status, target):
        return order
    oid = uuid.UUID(order.id)
    updated = await repo.set_status_recorded(
        conn,
        oid,
        old=order.status,
        new=target,
        reason=reason,
        at=now,
        failure_reason=failure_reason,
    )
    await _announce_move(conn, order, target, reason=reason, now=now)
    return updated


async def _announce_move(
    conn: Connection, order: Order, target: OrderStatus, *, reason: str, now: datetime
) -> None:
    """OrderStatusChangedV1 for a move just recorded, and its log line."""
    await _announce(
        conn,
        order,
        OrderStatusChangedV1(
            order_id=order.id,
            user_id=order.user_id,
            old_status=order.status.value,
            new_status=target.value,
            changed_at=now,
        ),
    )
    log.info("order_status_changed", order_id=order.id, old=order.status, new=target, reason=reason)


# ---- placing an order -----------------------------------------------------------------------


def choose_price(
    package: Package, method: str, currency: str | None, providers: ProviderRegistry
) -> Money:
    """The package's price the payer pays with `method`: in `currency` when asked, otherwise in
    the first of the package's currencies that the method takes."""
    if currency is not None:
        price = package.price_in(currency)
        if price is None:
            offered = ", ".join(p.currency for p in package.prices)
            raise CurrencyNotOffered(
                f"package {package.id!r} is not sold in {currency.upper()} (it is in {offered})"
            )
        if not providers.is_offered(method, price.currency):
            raise PaymentMethodUnavailable(_unavailable(method, price.currency, providers))
        return price
    for price in package.prices:
        if providers.is_offered(method, price.currency):
            return price
    raise PaymentMethodUnavailable(_unavailable(method, package.price.currency, providers))


def _unavailable(method: str, currency: str, providers: ProviderRegistry) -> str:
    offered = ", ".join(o.payment_method for o in providers.offered(currency)) or "none"
    return f"{method} is not available for {currency} here (available: {offered})"


async def open_order(
    conn: Connection,
    cmd: PlaceOrder,
    package: Package,
    *,
    config: CheckoutConfig,
    now: datetime,
    price: Money | None = None,
) -> tuple[Order, bool]:
    """Insert the pending order for `package` (and OrderCreatedV1), or find the one this
    Idempotency-Key made. Returns (order, created)."""
    amount = price or package.price
    grants, lines = package_facts(package, amount)
    facts = OrderFacts("package", package.id, package.name, package.credits, amount, grants, lines)
    return await open_order_for(conn, cmd, facts, config=config, now=now)


async def open_order_for(
    conn: Connection,
    cmd: PlaceOrder,
    facts: OrderFacts,
    *,
    config: CheckoutConfig,
    now: datetime,
    fingerprint: str | None = None,
) -> tuple[Order, bool]:
    """Insert the pending order selling `facts` (and OrderCreatedV1), or find the one this
    Idempotency-Key made. Returns (order, created)."""
    fingerprint = fingerprint or request_fingerprint(cmd)
    if cmd.idempotency_key is not None:
        existing = await repo.get_order_by_idempotency_key(conn, cmd.user_id, cmd.idempotency_key)
        if existing is not None:
            return _same_request(existing, fingerprint), False
    if config.limits is not None:
        await _check_limits(conn, cmd.user_id, config.limits, now)
    created = await repo.insert_order(
        conn,
        order_id=uuid.uuid4(),
        user_id=cmd.user_id,
        package_id=facts.item_id,
        credits=facts.credits,
        amount=facts.amount,
        payment_method=cmd.payment_method,
        return_url=cmd.return_url,
        idempotency_key=cmd.idempotency_key,
        request_fingerprint=fingerprint,
        expires_at=now + config.order_ttl,
        created_at=now,
        grants=facts.grants,
        lines=facts.lines,
        kind=facts.kind,
    )
    if created is None:
        # A concurrent request with the same key won the unique constraint. The INSERT waited
        # for it to commit, so this new statement sees its order.
        assert cmd.idempotency_key is not None
        existing = await repo.get_order_by_idempotency_key(conn, cmd.user_id, cmd.idempotency_key)
        assert existing is not None, "conflicting order vanished"
        return _same_request(existing, fingerprint), False
    await announce_created(conn, created, reason="created", now=now)
    log.info(
        "order_created",
        order_id=created.id,
        user_id=created.user_id,
        kind=facts.kind,
        item=facts.item_id,
    )
    return created, True


async def announce_created(conn: Connection, order: Order, *, reason: str, now: datetime) -> None:
    """A new pending order: its first status change, and OrderCreatedV1 through the outbox."""
    await repo.insert_status_change(
        conn, uuid.UUID(order.id), old=None, new=OrderStatus.PENDING, reason=reason, at=now
    )
    await _announce(
        conn,
        order,
        OrderCreatedV1(
            order_id=order.id,
            user_id=order.user_id,
            package_id=order.package_id,
            credits=order.credits,
            amount_minor=order.amount.minor,
            currency=order.amount.currency,
            payment_method=order.payment_method,
            created_at=order.created_at,
        ),
    )


async def _check_limits(conn: Connection, user_id: str, limits: OrderLimits, now: datetime) -> None:
    """Refuse (429, with Retry-After) a user at their limit of open orders or of orders created
    in the window. The user's lock makes concurrent requests count one after the other."""
    await repo.lock_user_orders(conn, user_id)
    usage = await repo.order_usage(conn, user_id, now=now, since=now - limits.window)
    if usage.open >= limits.max_open and usage.first_expiry is not None:
        raise TooManyOpenOrders(
            f"at most {limits.max_open} open orders per user; pay or cancel one first",
            headers={"Retry-After": _seconds_until(usage.first_expiry, now)},
        )
    if usage.recent >= limits.max_created and usage.oldest_recent is not None:
        raise OrderRateLimited(
            f"at most {limits.max_created} orders per user every "
            f"{int(limits.window.total_seconds())} seconds",
            headers={"Retry-After": _seconds_until(usage.oldest_recent + limits.window, now)},
        )


def _seconds_until(moment: datetime, now: datetime) -> str:
    return str(max(1, math.ceil((moment - now).total_seconds())))


def _same_request(existing: Order, fingerprint: str) -> Order:
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body"
        )
    return existing


async def place_order(
    pool: asyncpg.Pool,
    cmd: PlaceOrder,
    *,
    catalog: Catalog,
    providers: ProviderRegistry,
    config: CheckoutConfig,
    signer: Signer | None = None,
) -> Placed:
    """Create the order, then its payment at the provider, then store what the provider gave.

    This use case owns its transactions, and there are two: one that creates the order and one
    that stores the provider's answer (or the failure). The provider call sits between them so
    that no transaction, and no row lock, is held while the provider answers.
    """
    if cmd.return_url is not None and not config.allows_return_to(cmd.return_url):
        raise ReturnUrlNotAllowed("return_url names a host that is not on the allow-list")
    facts = order_facts_for(cmd, catalog=catalog, providers=providers, signer=signer)
    now = utcnow()
    async with transaction(pool) as conn:
        order, created = await open_order_for(conn, cmd, facts, config=config, now=now)
    return await open_payment(
        pool, order, created, cmd, name=facts.name, providers=providers, config=config
    )


def order_facts_for(
    cmd: PlaceOrder, *, catalog: Catalog, providers: ProviderRegistry, signer: Signer | None
) -> OrderFacts:
    """What the order sells: the package at its price in the method's currency, or exactly
    what the quote it presents promised."""
    if cmd.quote is None:
        package = catalog.get(cmd.package_id or "")
        if package is None:
            raise UnknownPackage(f"unknown package {cmd.package_id!r}")
        price = choose_price(package, cmd.payment_method, cmd.currency, providers)
        grants, lines = package_facts(package, price)
        return OrderFacts(
            "package", package.id, package.name, package.credits, price, grants, lines
        )
    if signer is None:
        raise RuntimeError("placing an order from a quote needs the quote signer")
    quote = quotes.Quote.from_claims(signer.verify(quotes.AUDIENCE, cmd.quote))
    if quote.user_id != cmd.user_id:
        raise TokenInvalid("this quote was issued to another user")
    currency = quote.amount.currency
    if cmd.currency is not None and cmd.currency.upper() != currency:
        raise CurrencyNotOffered(f"the quote is in {currency}, not {cmd.currency.upper()}")
    if not providers.is_offered(cmd.payment_method, currency):
        raise PaymentMethodUnavailable(_unavailable(cmd.payment_method, currency, providers))
    try:
        return quotes.order_facts(quote, catalog)
    except quotes.QuotedItemGone:
        raise UnknownProduct(
            f"{quote.item_id!r} is no longer on sale: ask for a new quote"
        ) from None


async def open_payment(
    pool: asyncpg.Pool,
    order: Order,
    created: bool,
    cmd: PlaceOrder,
    *,
    name: str,
    providers: ProviderRegistry,
    config: CheckoutConfig,
    recurring: Recurring | None = None,
) -> Placed:
    """Open the payment of an order just inserted (its own transaction after the provider's
    answer), or answer a replay with the order as it is."""
    provider = providers.for_method(cmd.payment_method)
    assert provider is not None  # the method was checked against the registry
    if order.provider_session_id is not None or order.status != OrderStatus.PENDING:
        if order.status == OrderStatus.FAILED and order.provider_session_id is None:
            # A replay of a request whose payment could not be opened: answer as it was
            # answered, so a client retrying with the same key learns it needs a new one.
            raise UpstreamError("the payment provider could not open the payment")
        return Placed(order, replayed=not created)

    # A pending order without a session: ours, or one whose first request died (or is still
    # running) between the two transactions; a replay completes it.
    expires_at = _whole_second_up(utcnow() + config.order_ttl)
    req = PaymentRequest(
        order_id=order.id,
        user_id=order.user_id,
        package_id=order.package_id,
        package_name=name,
        credits=order.credits,
        amount=order.amount,
        payment_method=order.payment_method,
        return_url=order.return_url or config.default_return_url,
        expires_at=expires_at,
        client_ip=cmd.client_ip,
        recurring=recurring,
        save_for_customer=cmd.save_card_customer,
    )
    try:
        instructions = await provider.create_payment(req)
    except ProviderError as exc:
        async with transaction(pool) as conn:
            current = await repo.get_order_for_update(conn, uuid.UUID(order.id))
            assert current is not None
            if current.provider_session_id is not None:
                # A concurrent replay opened the session meanwhile: the order is payable.
                return Placed(current, replayed=True)
            if can_transition(current.status, OrderStatus.FAILED):
                await change_status(
                    conn,
                    current,
                    OrderStatus.FAILED,
                    reason="provider_session_failed",
                    now=utcnow(),
                    failure_reason=str(exc),
                )
        raise UpstreamError("the payment provider could not open the payment") from exc

    async with transaction(pool) as conn:
        oid = uuid.UUID(order.id)
        stored = await repo.attach_session(
            conn, oid, provider=provider.name, instructions=instructions, expires_at=expires_at
        )
        if stored is None:
            # A concurrent replay stored its session first; everyone answers with that one.
            stored = await repo.get_order(conn, oid)
            assert stored is not None
    return Placed(stored, replayed=not created)


def _whole_second_up(at: datetime) -> datetime:
    # Stripe takes whole seconds; rounding up never promises less than the TTL.
    return at if at.microsecond == 0 else at.replace(microsecond=0) + timedelta(seconds=1)


# ---- reading orders -------------------------------------------------------------------------


async def get_order_for(pool: asyncpg.Pool, principal: Principal, order_id: str) -> Order:
    """The order if the caller owns it or is an admin; otherwise NotFound (never Forbidden)."""
    oid = parse_id(order_id)
    if oid is None:
        raise NotFound("order not found")
    async with pool.acquire() as conn:
        order = await repo.get_order(conn, oid)
    if order is None or not (principal.is_admin or order.user_id == principal.user_id):
        raise NotFound("order not found")
    return order


async def list_orders_for(
    pool: asyncpg.Pool,
    principal: Principal,
    *,
    status: OrderStatus | None,
    user_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Order], str | None]:
    """A page of orders, newest first: the caller's own, or anyone's for an admin."""
    before = KeysetCursor.from_query(cursor)
    if not principal.is_admin:
        if user_id is not None and user_id != principal.user_id:
            return [], None
        user_id = principal.user_id
    async with pool.acquire() as conn:
        rows = await repo.list_orders(
            conn, user_id=user_id, status=status, before=before, limit=limit + 1
        )
    return keyset_page(rows, limit, lambda o: KeysetCursor(o.created_at, uuid.UUID(o.id)))


# ---- following payments (payments.events) ---------------------------------------------------


async def _locked_order_for_event(
    conn: Connection, order_id: str, event_type: str, provider_event_id: str
) -> Order | None:
    oid = parse_id(order_id)
    order = None if oid is None else await repo.get_order_for_update(conn, oid)
    if order is None:
        # Not ours: it may belong to another deployment sharing the provider account.
        log.warning(
            "payment_event_for_unknown_order",
            order_id=order_id,
            event_type=event_type,
            provider_event_id=provider_event_id,
        )
    return order


async def apply_payment_succeeded(
    conn: Connection,
    event: PaymentSucceededV1,
    *,
    plans: Plans | None = None,
    second_payment: SecondPaymentPolicy = SecondPaymentPolicy.REFUND,
) -> None:
    """Money was taken: by the order's facts alone (`assess_payment`), grant as ordered
    (OrderPaidV1), or hold it for an operator (a review), or record a second payment (and
    refund, credit or hold it by the `second_payment` policy). A plan's order is also held when
    its subscription moved on since it was placed (`plans`: what subscriptions decide with)."""
    order = await _locked_order_for_event(conn, event.order_id, event.TYPE, event.provider_event_id)
    assessment = assess_payment(order, event)
    verdict = assessment.verdict
    if verdict is Verdict.REPEAT:
        return  # another event about the payment the order already recorded
    if verdict is Verdict.DUPLICATE and order is not None:
        from paystream.checkout.second_payments import service as second_payments

        # Recorded once, reviewed, and refunded / credited / held by the policy.
        if await second_payments.receive(
            conn, order, event, assessment, policy=second_payment, plans=plans
        ):
            payment_outcome(order.payment_method, "held")
        return
    if order is None or verdict in (Verdict.UNKNOWN_ORDER, Verdict.DUPLICATE, Verdict.UNSUPPORTED):
        await _open_review(conn, order, event, assessment, blocking=False)
        payment_outcome(order.payment_method if order else None, "held")
        log.error(
            "payment_held_for_review",
            verdict=verdict,
            order_id=event.order_id,
            provider_event_id=event.provider_event_id,
            reasons=assessment.reasons,
        )
        return
    # Whether what was paid differs from the order (the flag on the order), before any hold.
    mismatch = verdict is not Verdict.MATCHED
    if verdict is not Verdict.NEEDS_REVIEW and order.kind in PLAN_KINDS:
        from paystream.checkout.subscriptions import service as subscriptions

        hold = await subscriptions.hold_reason(conn, order, plans=_need(plans))
        if hold is not None:
            verdict = Verdict.NEEDS_REVIEW
            assessment = Assessment(Verdict.NEEDS_REVIEW, (hold,), assessment.details)
    order = await repo.record_payment(
        conn,
        uuid.UUID(order.id),
        paid_at=event.paid_at,
        provider_payment_id=event.provider_payment_id,
        provider_session_id=event.provider_session_id,
        paid_amount_minor=event.amount_minor,
        paid_currency=event.currency.upper(),
        amount_mismatch=mismatch,
    )
    reason = f"payment_succeeded:{event.provider}:{event.provider_event_id}"
    if verdict is Verdict.NEEDS_REVIEW:
        # Nothing is granted or invoiced: the order waits for an operator's decision.
        await change_status(conn, order, OrderStatus.NEEDS_REVIEW, reason=reason, now=utcnow())
        await _open_review(conn, order, event, assessment, blocking=True)
        payment_outcome(order.payment_method, "needs_review")
        log.error(
            "payment_held_for_review",
            verdict=verdict,
            order_id=order.id,
            provider_event_id=event.provider_event_id,
            reasons=assessment.reasons,
        )
        return
    paid = await change_status(conn, order, OrderStatus.PAID, reason=reason, now=utcnow())
    review: PaidReview = "overpaid" if verdict is Verdict.OVERPAID else "matched"
    await settle_paid(
        conn, paid, provider_event_id=event.provider_event_id, review=review, plans=plans
    )
    payment_outcome(order.payment_method, "overpaid" if verdict is Verdict.OVERPAID else "paid")
    if verdict is Verdict.OVERPAID:
        await _open_review(conn, order, event, assessment, blocking=False)


# ---- a batch of payments, set-based -----------------------------------------------------------
# At 500 payments a second each payment's three round trips (lock, record, move) were most of
# the consumer's time on a busy machine, and it fell behind. The common case, a pending package
# order paid exactly as ordered, needs nothing but its own row: those are locked in one query and
# paid in one statement. Everything else goes through `apply_payment_succeeded`, one by one.


async def plain_payments(
    conn: Connection, events: Sequence[EventData], *, excluded: frozenset[str] = frozenset()
) -> list[tuple[PaymentSucceededV1, Order] | None]:
    """For each event of a batch, the event and its order, locked, when the event is a plain
    payment; None for every other event.

    Plain: a PaymentSucceededV1 whose order is the only one of its kind in the batch (no other
    event of the batch names it, so applying it apart from them changes nothing they see), is
    not in `excluded` (orders something else follows, such as auto-recharge's), is a pending
    order of a package (not a plan's), and is paid exactly as ordered (`Verdict.MATCHED`)."""
    named: dict[uuid.UUID, int] = {}
    for event in events:
        oid = parse_id(getattr(event, "order_id", None) or "")
        if oid is not None:
            named[oid] = named.get(oid, 0) + 1
    candidates = {
        i: (event, oid)
        for i, event in enumerate(events)
        if isinstance(event, PaymentSucceededV1)
        and event.order_id not in excluded
        and (oid := parse_id(event.order_id)) is not None
        and named[oid] == 1
    }
    locked = (
        await repo.get_orders_for_update(conn, [oid for _, oid in candidates.values()])
        if candidates
        else {}
    )
    plain: list[tuple[PaymentSucceededV1, Order] | None] = [None] * len(events)
    for i, (event, oid) in candidates.items():
        order = locked.get(oid)
        if (
            order is not None
            and order.status is OrderStatus.PENDING
            and order.kind not in PLAN_KINDS
            and assess_payment(order, event).verdict is Verdict.MATCHED
        ):
            plain[i] = (event, order)
    return plain


async def apply_plain_payments(
    conn: Connection, payments: Sequence[tuple[PaymentSucceededV1, Order]]
) -> None:
    """What `apply_payment_succeeded` does for plain payments (see `plain_payments`), with their
    orders already locked: the same rows, outbox events, metrics and logs, in the same order."""
    if not payments:
        return
    moves = [
        repo.PendingPayment(
            order_id=uuid.UUID(order.id),
            paid_at=event.paid_at,
            provider_payment_id=event.provider_payment_id,
            provider_session_id=event.provider_session_id,
            paid_amount_minor=event.amount_minor,
            paid_currency=event.currency.upper(),
            reason=f"payment_succeeded:{event.provider}:{event.provider_event_id}",
            at=utcnow(),
        )
        for event, order in payments
    ]
    paid_orders = await repo.pay_pending_orders(conn, moves)
    for (event, order), move, paid in zip(payments, moves, paid_orders, strict=True):
        await _announce_move(conn, order, OrderStatus.PAID, reason=move.reason, now=move.at)
        await announce_paid(conn, paid, provider_event_id=event.provider_event_id, review="matched")
        payment_outcome(order.payment_method, "paid")


PaidReview = Literal["matched", "overpaid", "accepted"]


def _need(plans: Plans | None) -> Plans:
    if plans is None:
        raise RuntimeError("a plan's order is settled with the subscriptions' context")
    return plans


# Orders of plans: their subscription takes them in when they are paid.
PLAN_KINDS = frozenset({"subscription", "renewal", "upgrade", "allowance"})


async def settle_paid(
    conn: Connection,
    order: Order,
    *,
    provider_event_id: str,
    review: PaidReview,
    reviewed_by: str | None = None,
    plans: Plans | None = None,
) -> None:
    """A paid order takes effect: OrderPaidV1 for a sale; a plan's order goes to its
    subscription, which announces it now or, for a renewal paid ahead, when its period starts."""
    if order.kind in PLAN_KINDS:
        from paystream.checkout.subscriptions import service as subscriptions

        await subscriptions.order_paid(
            conn,
            order,
            provider_event_id=provider_event_id,
            review=review,
            reviewed_by=reviewed_by,
            plans=_need(plans),
        )
        return
    await announce_paid(
        conn, order, provider_event_id=provider_event_id, review=review, reviewed_by=reviewed_by
    )


async def announce_paid(
    conn: Connection,
    order: Order,
    *,
    provider_event_id: str,
    review: PaidReview,
    reviewed_by: str | None = None,
    plan: PlanPeriodV1 | None = None,
    grants: Sequence[GrantSpec] | None = None,
) -> None:
    """Publish OrderPaidV1 (through the outbox): the order's own facts, and what was paid.

    `grants` replaces the order's when some of them can no longer be granted (a plan period
    that ended before its order took effect)."""
    paid = order.paid_amount() or order.amount
    provider = METHOD_PROVIDER.get(order.payment_method)
    event = OrderPaidV1(
        order_id=order.id,
        user_id=order.user_id,
        package_id=order.package_id,
        grants=list(order.grants if grants is None else grants),
        lines=list(order.lines),
        amount_minor=order.amount.minor,
        currency=order.amount.currency,
        paid_minor=paid.minor,
        paid_currency=paid.currency,
        provider=None if provider is None else cast(Provider, provider),
        payment_method=order.payment_method,
        provider_payment_id=order.provider_payment_id,
        provider_event_id=provider_event_id,
        paid_at=order.paid_at or utcnow(),
        review=review,
        reviewed_by=reviewed_by,
        plan=plan,
    )
    await enqueue(
        conn,
        order.user_id,
        Envelope.wrap(event, source=SOURCE, subject=order.id, id=order_paid_event_id(order.id)),
    )


async def _open_review(
    conn: Connection,
    order: Order | None,
    event: PaymentSucceededV1,
    assessment: Assessment,
    *,
    blocking: bool,
) -> None:
    await reviews_repo.insert_review(
        conn,
        order_id=None if order is None else uuid.UUID(order.id),
        user_id=event.user_id if order is None else order.user_id,
        provider=event.provider,
        provider_payment_id=event.provider_payment_id,
        provider_event_id=event.provider_event_id,
        event_id=deterministic_id("payment.review", event.provider, event.provider_event_id),
        amount_minor=event.amount_minor,
        currency=event.currency.upper(),
        reasons=assessment.reasons,
        details={
            **(assessment.details or {}),
            "notification": {
                "order_id": event.order_id,
                "user_id": event.user_id,
                "credits": event.credits,
                "package_id": event.package_id,
            },
        },
        blocking=blocking,
        at=utcnow(),
    )


async def apply_payment_failed(conn: Connection, event: PaymentFailedV1) -> None:
    """A payment attempt failed: only a pending order fails; a late failure never un-pays."""
    order = await _locked_order_for_event(conn, event.order_id, event.TYPE, event.provider_event_id)
    if order is None:
        return
    if order.status != OrderStatus.PENDING:
        log.info(
            "payment_failure_ignored",
            order_id=order.id,
            status=order.status,
            provider_event_id=event.provider_event_id,
        )
        return
    await change_status(
        conn,
        order,
        OrderStatus.FAILED,
        reason=f"payment_failed:{event.provider}:{event.provider_event_id}",
        now=utcnow(),
        failure_reason=event.reason,
    )
    payment_outcome(order.payment_method, "failed")


# ---- cancelling -----------------------------------------------------------------------------


async def cancel_order(
    pool: asyncpg.Pool,
    principal: Principal,
    order_id: str,
    *,
    providers: ProviderRegistry,
) -> Order:
    """Cancel a pending order: close its payment at the provider first, then mark it.

    Closing first means a payer can no longer pay once we say "cancelled" (where the provider
    lets us close); if the provider refuses because the payment already went through, the order
    is left to the payment event and the caller gets 409. Cancelling a cancelled order is a no-op.
    """
    order = await get_order_for(pool, principal, order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status != OrderStatus.PENDING:
        raise OrderNotCancellable(
            f"only a pending order can be cancelled; this one is {order.status}"
        )
    await _close_at_provider(order, providers, strict=True)
    async with transaction(pool) as conn:
        current = await repo.get_order_for_update(conn, uuid.UUID(order.id))
        assert current is not None
        if current.status not in (OrderStatus.PENDING, OrderStatus.CANCELLED):
            raise OrderNotCancellable(
                f"only a pending order can be cancelled; this one is {current.status}"
            )
        return await change_status(
            conn,
            current,
            OrderStatus.CANCELLED,
            reason=f"cancelled_by:{principal.user_id}",
            now=utcnow(),
        )


async def _close_at_provider(order: Order, providers: ProviderRegistry, *, strict: bool) -> None:
    if order.provider_session_id is None:
        return  # nothing was opened at the provider
    provider = providers.by_name(order.provider or "") or providers.for_method(order.payment_method)
    if provider is None:
        log.warning("close_without_provider", order_id=order.id, method=order.payment_method)
        return
    try:
        await provider.close(order.provider_session_id, order.payment_method)
    except ProviderError as exc:
        log.warning("provider_close_failed", order_id=order.id, error=str(exc))
        if strict:
            raise UpstreamError(
                "the payment provider could not close the payment; the order stays pending"
            ) from exc


# ---- expiry ---------------------------------------------------------------------------------


async def expire_overdue_orders(
    conn: Connection, *, now: datetime, grace: timedelta, limit: int = 200
) -> list[Order]:
    """Mark pending orders whose session expired (more than `grace` ago) as expired."""
    ids = await repo.lock_overdue_pending(conn, expired_before=now - grace, limit=limit)
    expired = []
    for oid in ids:
        order = await repo.get_order(conn, oid)
        assert order is not None
        expired.append(
            await change_status(
                conn,
                order,
                OrderStatus.EXPIRED,
                reason="expired",
                now=now,
            )
        )
    return expired


async def expire_and_close(
    pool: asyncpg.Pool, providers: ProviderRegistry, *, grace: timedelta
) -> list[Order]:
    """One round of the expiry sweep: expire the overdue orders (one transaction), then, once
    that committed, close their payments at the providers."""
    async with transaction(pool) as conn:
        expired = await expire_overdue_orders(conn, now=utcnow(), grace=grace)
    if expired:
        log.info("orders_expired", count=len(expired))
        await close_expired_at_providers(expired, providers)
    return expired


async def close_expired_at_providers(orders: list[Order], providers: ProviderRegistry) -> None:
    """After the expiry commit: close each payment at its provider where the provider allows it
    (a Stripe session or PaymentIntent, an Alipay / WeChat Pay trade, a USDT amount reservation).
    Best effort: a payment that still arrives is credited (see domain.py)."""
    for order in orders:
        await _close_at_provider(order, providers, strict=False)
