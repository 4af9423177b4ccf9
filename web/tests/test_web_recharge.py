"""What the page completing a recharge says, from its order and its attempt (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from paystream.web.recharge import TITLES, declined_message, recharge_message, recharge_state


@pytest.mark.parametrize(
    ("order", "attempt", "state"),
    [
        ("pending", "requires_action", "needs_confirmation"),
        # Stripe announces the off-session charge that asked for authentication as a failed
        # payment: the order reads failed, and it is still the buyer's to confirm.
        ("failed", "requires_action", "needs_confirmation"),
        ("paid", "requires_action", "paid"),
        ("failed", "succeeded", "paid"),
        ("refunded", "succeeded", "paid"),
        ("expired", "requires_action", "expired"),
        ("cancelled", "requires_action", "cancelled"),
        ("failed", "failed", "failed"),
        ("pending", "failed", "failed"),
        ("pending", "processing", "processing"),
    ],
)
def test_the_state_of_a_recharge(order: str, attempt: str, state: str) -> None:
    assert recharge_state(order, attempt) == state


ORDER: dict[str, Any] = {
    "credits": 1100,
    "expires_at": "2026-12-04T20:00:00+00:00",
    "failure_reason": None,
}
ATTEMPT: dict[str, Any] = {"unit": "credits", "error": "This transaction requires authentication."}


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ("needs_confirmation", "Nothing has been charged"),
        ("processing", "updates by itself"),
        ("paid", "1,100 credits are added"),
        ("expired", "ran out on 2026-12-04 20:00 UTC"),
        ("cancelled", "cancelled; nothing was charged"),
        ("failed", "not taken: This transaction requires authentication."),
    ],
)
def test_every_state_says_what_happened(state: str, says: str) -> None:
    assert says in recharge_message(state, ORDER, ATTEMPT)
    assert TITLES[state]


def test_a_decline_after_the_check_says_the_banks_reason_and_what_to_do() -> None:
    said = declined_message("Your card has insufficient funds.")
    assert said.startswith("Your card has insufficient funds. Nothing was charged.")
    assert "another card" in said
