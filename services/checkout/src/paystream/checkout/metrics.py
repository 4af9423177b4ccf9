"""Checkout's own Prometheus metrics (the shared ones are in `paystream.shared.observability`)."""

from __future__ import annotations

from prometheus_client import Counter

# outcome: paid (as ordered), overpaid (paid, more than asked: listed for an operator),
# needs_review (nothing granted until an operator decides), held (no order to move: an unknown
# order, a second payment, an unsupported currency), failed (the provider said it failed).
# Counted as checkout applies the payment event; a batch retried after a failure counts again.
PAYMENT_OUTCOMES = Counter(
    "paystream_payments_total",
    "Payment outcomes seen by checkout, by payment method",
    ["method", "outcome"],
)


def payment_outcome(method: str | None, outcome: str) -> None:
    PAYMENT_OUTCOMES.labels(method or "unknown", outcome).inc()


# A second payment for an already paid order (second_payments): what the policy did with it.
# action: refund (a refund was opened), credit (a new order was paid with it), review (held for an
# operator, whatever the policy: see its review's details). Counted when the payment is first
# recorded (one in a currency paystream does not know cannot be, and counts each time it is
# told); as for payment outcomes, a batch retried after a failure counts again.
SECOND_PAYMENTS = Counter(
    "paystream_second_payments_total",
    "Second payments for already paid orders, by provider, configured policy and what was done",
    ["provider", "policy", "action"],
)


def second_payment(provider: str, policy: str, action: str) -> None:
    SECOND_PAYMENTS.labels(provider, policy, action).inc()
