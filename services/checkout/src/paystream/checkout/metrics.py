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
