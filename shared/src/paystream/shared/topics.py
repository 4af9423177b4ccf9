"""Topic names and their configuration, defined once for producers, consumers and operators."""

from __future__ import annotations

from dataclasses import dataclass, field

WEBHOOKS_RAW = "webhooks.raw"
PAYMENTS_EVENTS = "payments.events"
ORDERS_EVENTS = "orders.events"
LEDGER_EVENTS = "ledger.events"

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


# webhooks.raw and payments.events are the system of record for replay: keep forever.
_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(WEBHOOKS_RAW, 6, dict(_FOREVER)),
    TopicSpec(PAYMENTS_EVENTS, 6, dict(_FOREVER)),
    TopicSpec(ORDERS_EVENTS, 6, {"retention.ms": str(30 * DAY_MS)}),
    TopicSpec(LEDGER_EVENTS, 6, {"retention.ms": str(30 * DAY_MS)}),
    # Dead letters wait for an operator: never expire them.
    TopicSpec(dlq(PAYMENTS_EVENTS), 1, dict(_FOREVER)),
    TopicSpec(dlq(ORDERS_EVENTS), 1, dict(_FOREVER)),
    TopicSpec(dlq(LEDGER_EVENTS), 1, dict(_FOREVER)),
)
