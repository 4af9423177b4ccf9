"""Credit note rules: the CN number, the invoice status, and the credits a refund concerns
(cumulative, rounded down, adding up to the invoice's credits; the ledger's arithmetic)."""

from __future__ import annotations

import itertools
import random

import pytest

from paystream.invoicing.domain import (
    RefundRefused,
    credit_note_credits,
    credits_due_for,
    format_credit_note_number,
    invoice_status,
)
from paystream.shared.events import InvalidEvent


def _credit_in_parts(credits: int, amount: int, parts: list[int]) -> list[int]:
    refunded = credited = 0
    out = []
    for part in parts:
        c = credit_note_credits(
            credits=credits,
            amount_minor=amount,
            currency="EUR",
            refunded_before_minor=refunded,
            credited_before=credited,
            refund_minor=part,
            refund_currency="EUR",
        )
        refunded += part
        credited += c
        out.append(c)
    return out


def test_credit_note_numbers_have_their_own_series() -> None:
    assert format_credit_note_number(2026, 1) == "CN-2026-000001"
    assert format_credit_note_number(2026, 1_234_567) == "CN-2026-1234567"
    with pytest.raises(ValueError, match="starts at 1"):
        format_credit_note_number(2026, 0)


@pytest.mark.parametrize(
    ("amount", "refunded", "status"),
    [
        (10_000, 0, "paid"),
        (10_000, 1, "partially_refunded"),
        (10_000, 9_999, "partially_refunded"),
        (10_000, 10_000, "refunded"),
        (0, 0, "paid"),
    ],
)
def test_invoice_status_follows_the_refunded_total(amount: int, refunded: int, status: str) -> None:
    assert invoice_status(amount, refunded) == status


def test_credits_are_proportional_and_rounded_down() -> None:
    assert credits_due_for(1100, 10_000, 5_000) == 550
    assert credits_due_for(1100, 10_000, 9_999) == 1099
    assert credits_due_for(1100, 10_000, 10_000) == 1100
    assert _credit_in_parts(1100, 10_000, [10_000]) == [1100]
    assert _credit_in_parts(100, 300, [100, 100, 100]) == [33, 33, 34]
    assert _credit_in_parts(1100, 10_000, [1, 1]) == [0, 0]


def test_any_split_of_the_amount_credits_exactly_the_invoice_credits() -> None:
    rng = random.Random(7)
    for _ in range(500):
        credits = rng.randint(0, 50_000)
        amount = rng.randint(1, 500_000)
        cuts = sorted(rng.sample(range(1, amount), min(amount - 1, rng.randint(0, 6))))
        parts = [b - a for a, b in itertools.pairwise([0, *cuts, amount])]
        notes = _credit_in_parts(credits, amount, parts)
        assert sum(notes) == credits
        assert all(n >= 0 for n in notes)


@pytest.mark.parametrize(
    ("currency", "before", "amount", "match"),
    [("USD", 0, 100, "USD"), ("EUR", 0, 10_001, "exceed"), ("EUR", 9_000, 1_001, "exceed")],
)
def test_refunds_that_cannot_be_credited_are_invalid_events(
    currency: str, before: int, amount: int, match: str
) -> None:
    with pytest.raises(RefundRefused, match=match) as exc:
        credit_note_credits(
            credits=1100,
            amount_minor=10_000,
            currency="EUR",
            refunded_before_minor=before,
            credited_before=credits_due_for(1100, 10_000, before),
            refund_minor=amount,
            refund_currency=currency,
        )
    assert isinstance(exc.value, InvalidEvent)
