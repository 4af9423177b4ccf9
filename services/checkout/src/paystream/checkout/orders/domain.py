"""Orders and their state machine: pure domain logic, no I/O.

    pending ──> paid | failed | cancelled | expired | needs_review
    failed ──> paid | needs_review            a card retried on the same session succeeded
    cancelled | expired ──> paid | needs_review   money was taken: it is never ignored
    needs_review ──> paid | refunded | partially_refunded   an operator's decision
    paid ──> refunded | partially_refunded
    partially_refunded ──> refunded | partially_refunded

Anything else is refused. Moving to the status the order already has is a no-op, so a
redelivered or duplicated provider event changes nothing.

The order is the authority on what a payment grants and must cost (`assess_payment`): a payment
whose amount, currency or facts differ from the order's is held (`needs_review`) and grants
nothing until an operator accepts or refunds it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from paystream.checkout.catalog.domain import Package
from paystream.shared.events import GrantSpec, InvoiceLine, PaymentSucceededV1
from paystream.shared.money import CURRENCY_EXPONENTS, Money


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    # A payment arrived that the order does not account for: nothing granted, an operator
    # decides (accept or refund).
    NEEDS_REVIEW = "needs_review"


S = OrderStatus

# What an order sells: a package; units by quantity or for a custom amount (`pricing`); a plan's
# first period, a renewal, an upgrade's prorated difference, or a free allowance (`subscriptions`).
OrderKind = Literal[
    "package", "quantity", "custom_amount", "subscription", "renewal", "upgrade", "allowance"
]

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED, S.NEEDS_REVIEW}),
    S.FAILED: frozenset({S.PAID, S.NEEDS_REVIEW}),
    S.CANCELLED: frozenset({S.PAID, S.NEEDS_REVIEW}),
    S.EXPIRED: frozenset({S.PAID, S.NEEDS_REVIEW}),
    S.NEEDS_REVIEW: frozenset({S.PAID, S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.PAID: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    # A second partial refund keeps the status (same-status rule below); a final one completes it.
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"an order cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return current == target or target in TRANSITIONS[current]


def check_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """True when the order moves to `target`; False when it is already there (a no-op).

    Raises IllegalTransition when the state machine refuses the move.
    """
    if current == target:
        return False
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return True


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    package_id: str
    credits: int
    amount: Money
    payment_method: str
    status: OrderStatus
    return_url: str | None
    idempotency_key: str | None
    request_fingerprint: str | None
    provider_session_id: str | None
    payment_url: str | None
    provider_payment_id: str | None
    # What the provider reported as taken: kept raw, it may not match (see amount_mismatch).
    paid_amount_minor: int | None
    paid_currency: str | None
    amount_mismatch: bool
    failure_reason: str | None
    expires_at: datetime
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # What the frontend shows (see PaymentInstructions); None until the provider answered.
    provider: str | None = None
    client_secret: str | None = None
    qr_code: str | None = None
    deposit_address: str | None = None
    deposit_amount: Money | None = None
    payment_method_types: tuple[str, ...] = ()
    refunded_minor: int = 0
    # What the order grants and charges, fixed when it was placed (OrderPaidV1 carries them).
    grants: tuple[GrantSpec, ...] = ()
    lines: tuple[InvoiceLine, ...] = ()
    # What it sells: a package, units by quantity or custom amount, or a plan's period.
    kind: OrderKind = "package"

    def paid_amount(self) -> Money | None:
        if self.paid_amount_minor is None or self.paid_currency is None:
            return None
        return Money(self.paid_amount_minor, self.paid_currency)


def parse_id(value: str) -> uuid.UUID | None:
    """An order's (or a refund's) id from a request or an event; None when it is not a UUID, so
    a malformed id is answered like an unknown one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def status_after_refunds(paid_minor: int, refunded_minor: int) -> OrderStatus:
    """What a paid order is once `refunded_minor` of its `paid_minor` went back."""
    return OrderStatus.REFUNDED if refunded_minor >= paid_minor else OrderStatus.PARTIALLY_REFUNDED


# Statuses in which the order has taken its payment (or holds one for review).
HOLDS_A_PAYMENT = frozenset({S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED, S.NEEDS_REVIEW})


class Verdict(StrEnum):
    MATCHED = "matched"  # the order's amount, currency and facts: grant as ordered
    OVERPAID = "overpaid"  # more than asked, same currency: grant as ordered, flag
    NEEDS_REVIEW = "needs_review"  # hold the order, grant nothing, an operator decides
    DUPLICATE = "duplicate"  # a second payment for an order that has one: flag, grant nothing
    UNKNOWN_ORDER = "unknown_order"  # no such order here: record, grant nothing
    UNSUPPORTED = "unsupported"  # a currency paystream does not know: record, order untouched
    REPEAT = "repeat"  # another event about the payment the order already recorded


@dataclass(frozen=True, slots=True)
class Assessment:
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    # What differed, for the operator: {"amount": {"order": ..., "paid": ...}, ...}.
    details: dict[str, dict[str, object]] | None = None


# An overpayment beyond the asked amount again is not a generous payer but a notification
# that cannot be right (an edited amount): it is held for review rather than granted.
OVERPAY_LIMIT_FACTOR = 2


def assess_payment(order: Order | None, event: PaymentSucceededV1) -> Assessment:
    """What a successful payment means for its order, by the order's facts alone.

    The notification's own facts (user, credits, package, carried in provider metadata that a
    dashboard user can edit) are only compared with the order: any difference holds the
    payment for review, as does an amount or currency other than the order's. Pure.
    """
    if order is None:
        return Assessment(Verdict.UNKNOWN_ORDER, ("unknown_order",))
    if order.status in HOLDS_A_PAYMENT:
        if event.provider_payment_id is None or order.provider_payment_id in (
            None,
            event.provider_payment_id,
        ):
            return Assessment(Verdict.REPEAT)
        return Assessment(
            Verdict.DUPLICATE,
            ("duplicate_payment",),
            {"payment": {"order": order.provider_payment_id, "paid": event.provider_payment_id}},
        )
    # A USDT order is paid by sending its exact deposit amount (the price plus a unique offset).
    expected = order.deposit_amount or order.amount
    # Compared as they came, before any Money is made: an unknown currency is a mismatch to
    # review, not an error that would stop the consumer.
    paid_minor, paid_currency = event.amount_minor, event.currency.upper()
    if paid_currency not in CURRENCY_EXPONENTS:
        # Nothing about it can be recorded on the order (no amount in an unknown currency):
        # the order stays as it was, the payment is listed for an operator.
        return Assessment(
            Verdict.UNSUPPORTED,
            ("currency_unsupported",),
            {"amount": {"paid": {"minor": paid_minor, "currency": paid_currency}}},
        )
    reasons: list[str] = []
    details: dict[str, dict[str, object]] = {}
    if paid_currency != expected.currency:
        reasons.append("currency_mismatch")
    elif paid_minor < expected.minor or paid_minor > expected.minor * OVERPAY_LIMIT_FACTOR:
        reasons.append("amount_mismatch")
    if reasons:
        details["amount"] = {
            "order": {"minor": expected.minor, "currency": expected.currency},
            "paid": {"minor": paid_minor, "currency": paid_currency},
        }
    if event.user_id != order.user_id:
        reasons.append("user_mismatch")
        details["user_id"] = {"order": order.user_id, "paid": event.user_id}
    if event.credits != order.credits:
        reasons.append("credits_mismatch")
        details["credits"] = {"order": order.credits, "paid": event.credits}
    if event.package_id is not None and event.package_id != order.package_id:
        reasons.append("package_mismatch")
        details["package_id"] = {"order": order.package_id, "paid": event.package_id}
    if reasons:
        return Assessment(Verdict.NEEDS_REVIEW, tuple(reasons), details)
    if paid_minor > expected.minor:
        return Assessment(
            Verdict.OVERPAID,
            ("overpaid",),
            {
                "amount": {
                    "order": {"minor": expected.minor, "currency": expected.currency},
                    "paid": {"minor": paid_minor, "currency": paid_currency},
                }
            },
        )
    return Assessment(Verdict.MATCHED)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What an order sells, grants and charges, fixed when it is placed.

    `item_id` is the package, product or plan sold (the order's `package_id`, carried in the
    provider's metadata and compared when the payment comes back); `credits` the units of the
    order's first grant (also carried and compared); `name` what the payer sees at the provider.
    """

    kind: OrderKind
    item_id: str
    name: str
    credits: int
    amount: Money
    grants: tuple[GrantSpec, ...]
    lines: tuple[InvoiceLine, ...]


def package_facts(
    package: Package, price: Money
) -> tuple[tuple[GrantSpec, ...], tuple[InvoiceLine, ...]]:
    """What an order for `package` at `price` grants (one lot of the package's unit, lasting its
    validity) and charges (one line)."""
    grant = GrantSpec(
        unit=package.unit,
        quantity=package.credits,
        validity=package.validity,
        cost_minor=price.minor,
    )
    line = InvoiceLine(
        description=describe(package.id, package.credits, package.unit),
        quantity=1,
        unit_amount_minor=price.minor,
        amount_minor=price.minor,
    )
    return (grant,), (line,)


def describe(package_id: str, quantity: int, unit: str) -> str:
    """An invoice line: `standard — 1,100 credits`."""
    label = unit[:-1] if quantity == 1 and unit.endswith("s") else unit
    return f"{package_id} — {quantity:,} {label}"
