"""Which refunds return another payment than the one OrderPaidV1 recorded (issue 15)."""

from __future__ import annotations

import pytest

from paystream.shared.events import refunds_another_payment


@pytest.mark.parametrize(
    ("refunded", "paid", "other"),
    [
        ("pi_2", "pi_1", True),  # a second PaymentIntent for the order
        ("2026120422001", "2026120422002", True),  # another Alipay trade_no
        ("pi_1", "pi_1", False),  # the order's own payment
        (None, "pi_1", False),  # an event from before refunds named their payment
        ("pi_2", None, False),  # an order granted before the payment was kept
        ("ch_1", "pi_1", False),  # the charge of what may be the same PaymentIntent
    ],
)
def test_refunds_another_payment(refunded: str | None, paid: str | None, other: bool) -> None:
    assert refunds_another_payment(refunded, paid) is other
