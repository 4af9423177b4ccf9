"""A plan's rollover, free of I/O: the carry is what the ended period left, up to the cap, and
only a renewal or an annual plan's next month names the period it ends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from paystream.ledger.lots.domain import carry_of
from paystream.ledger.lots.service import Rollover, order_grants
from paystream.shared.events import GrantSpec, InvoiceLine, OrderPaidV1, PlanPeriodV1

APRIL = datetime(2026, 4, 1, tzinfo=UTC)
MAY = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cap", "left", "carried"), [(10, 15, 10), (10, 3, 3), (10, 10, 10), (10, 0, 0), (0, 5, 0)]
)
def test_the_carry_is_what_was_left_up_to_the_cap(cap: int, left: int, carried: int) -> None:
    assert carry_of(cap, left) == carried


def test_a_negative_carry_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        carry_of(10, -1)


def _paid(kind: str, cap: int | None) -> OrderPaidV1:
    return OrderPaidV1(
        order_id="o1",
        user_id="u",
        grants=[
            GrantSpec(quantity=1, cost_minor=0),
            GrantSpec(
                unit="receives",
                quantity=20,
                source="plan_allowance",
                expires_at=MAY,
                cost_minor=2900,
            ),
        ],
        lines=[
            InvoiceLine(description="Pro", quantity=1, unit_amount_minor=2900, amount_minor=2900)
        ],
        amount_minor=2900,
        currency="CNY",
        paid_minor=2900,
        paid_currency="CNY",
        provider="alipay",
        payment_method="alipay_qr",
        provider_event_id="e",
        paid_at=APRIL,
        plan=PlanPeriodV1(
            subscription_id="s",
            plan_id="pro",
            kind=kind,  # type: ignore[arg-type]
            period_start=APRIL,
            period_end=MAY,
            rollover_cap=cap,
        ),
    )


@pytest.mark.parametrize(
    ("kind", "cap", "expected"),
    [
        ("renewal", 10, Rollover(10, APRIL)),
        ("allowance", 10, Rollover(10, APRIL)),
        ("renewal", None, None),
        ("subscription", 10, None),
        ("upgrade", 10, None),
    ],
)
def test_only_a_continuing_period_with_a_cap_rolls_over_on_its_allowance_line(
    kind: str, cap: int | None, expected: Rollover | None
) -> None:
    grants = order_grants(uuid.uuid4(), _paid(kind, cap))
    assert [g.rollover for g in grants] == [None, expected]
