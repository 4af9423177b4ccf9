"""Topics, defined once: their names and configuration, and which topic each event type goes to.

Code never passes a topic around for an event: `Topics.of(event_type)` says where it goes.
A deployment (or a test, or a staging replay) may put every topic behind one prefix
(`PAYSTREAM_TOPIC_PREFIX`); the logical names below stay what the code and the docs speak of.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from paystream.shared.events import (
    EVENT_TYPES,
    AutoRechargeConfiguredV1,
    AutoRechargeDisabledV1,
    AutoRechargeFailedV1,
    AutoRechargeRequiresActionV1,
    AutoRechargeSucceededV1,
    BalanceLowV1,
    BalanceThresholdSetV1,
    CreditsCapturedV1,
    CreditsExpiredV1,
    CreditsExpiringV1,
    CreditsGrantedV1,
    CreditsHeldV1,
    CreditsReleasedV1,
    CreditsRevokedV1,
    CreditsSpentV1,
    CreditsVoidedV1,
    EventData,
    OrderCreatedV1,
    OrderPaidV1,
    OrderStatusChangedV1,
    PaymentFailedV1,
    PaymentMethodChangedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    SandboxClockAdvancedV1,
    SubscriptionChangedV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionRenewalDueV1,
    SubscriptionStatusV1,
    WebhookReceivedV1,
)

WEBHOOKS_RAW: Final = "webhooks.raw"
PAYMENTS_EVENTS: Final = "payments.events"
ORDERS_EVENTS: Final = "orders.events"
LEDGER_EVENTS: Final = "ledger.events"
# Sandbox mode only: the steps of the one sandbox clock every service follows.
SANDBOX_CLOCK: Final = "sandbox.clock"


# Which topic each event type is published to. Consumers subscribe to topics, so every event
# of a type must travel on one topic; a new event type gets its line here.
EVENT_TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        WebhookReceivedV1.TYPE: WEBHOOKS_RAW,
        PaymentSucceededV1.TYPE: PAYMENTS_EVENTS,
        PaymentFailedV1.TYPE: PAYMENTS_EVENTS,
        RefundSucceededV1.TYPE: PAYMENTS_EVENTS,
        RefundFailedV1.TYPE: PAYMENTS_EVENTS,
        RefundReportedV1.TYPE: PAYMENTS_EVENTS,
        OrderCreatedV1.TYPE: ORDERS_EVENTS,
        OrderStatusChangedV1.TYPE: ORDERS_EVENTS,
        OrderPaidV1.TYPE: ORDERS_EVENTS,
        SubscriptionChangedV1.TYPE: ORDERS_EVENTS,
        SubscriptionRenewalDueV1.TYPE: ORDERS_EVENTS,
        SubscriptionInvoicePaidV1.TYPE: PAYMENTS_EVENTS,
        SubscriptionPaymentFailedV1.TYPE: PAYMENTS_EVENTS,
        SubscriptionStatusV1.TYPE: PAYMENTS_EVENTS,
        CreditsGrantedV1.TYPE: LEDGER_EVENTS,
        CreditsSpentV1.TYPE: LEDGER_EVENTS,
        CreditsRevokedV1.TYPE: LEDGER_EVENTS,
        CreditsHeldV1.TYPE: LEDGER_EVENTS,
        CreditsCapturedV1.TYPE: LEDGER_EVENTS,
        CreditsReleasedV1.TYPE: LEDGER_EVENTS,
        CreditsExpiredV1.TYPE: LEDGER_EVENTS,
        CreditsExpiringV1.TYPE: LEDGER_EVENTS,
        CreditsVoidedV1.TYPE: LEDGER_EVENTS,
        BalanceLowV1.TYPE: LEDGER_EVENTS,
        BalanceThresholdSetV1.TYPE: LEDGER_EVENTS,
        SandboxClockAdvancedV1.TYPE: SANDBOX_CLOCK,
        # Saved payment methods and auto-recharge (issue 12).
        PaymentMethodChangedV1.TYPE: PAYMENTS_EVENTS,
        AutoRechargeConfiguredV1.TYPE: ORDERS_EVENTS,
        AutoRechargeSucceededV1.TYPE: ORDERS_EVENTS,
        AutoRechargeRequiresActionV1.TYPE: ORDERS_EVENTS,
        AutoRechargeFailedV1.TYPE: ORDERS_EVENTS,
        AutoRechargeDisabledV1.TYPE: ORDERS_EVENTS,
    }
)


class UnroutedEventType(LookupError):
    """An event type with no topic in EVENT_TOPICS: a programming error, caught by tests."""


def types_on(logical_topic: str) -> tuple[type[EventData], ...]:
    """The event types routed to a logical topic."""
    return tuple(EVENT_TYPES[t] for t, topic in EVENT_TOPICS.items() if topic == logical_topic)


def topic_of(event_type: str) -> str:
    """The logical topic of an event type."""
    try:
        return EVENT_TOPICS[event_type]
    except KeyError:
        raise UnroutedEventType(f"no topic for event type {event_type!r}") from None


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


# The topics are the system of record for replay: keep forever.
_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}

# The ledger and invoicing consume orders.events and payments.events as one stream per user:
# both are keyed by user and must keep the same number of partitions, so partition N of each
# holds the same users and goes to one consumer (`BatchConsumer`'s range assignor). Raise them
# together.
CO_PARTITIONED: Final = (ORDERS_EVENTS, PAYMENTS_EVENTS)

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(WEBHOOKS_RAW, 6, dict(_FOREVER)),
    TopicSpec(PAYMENTS_EVENTS, 6, dict(_FOREVER)),
    # orders.events carries what a payment grants (OrderPaidV1) and ledger.events the ledger's
    # own journal: both are replayed to rebuild a lost database, so they are kept forever too.
    TopicSpec(ORDERS_EVENTS, 6, dict(_FOREVER)),
    TopicSpec(LEDGER_EVENTS, 6, dict(_FOREVER)),
    # Dead letters wait for an operator: never expire them.
    TopicSpec(dlq(PAYMENTS_EVENTS), 1, dict(_FOREVER)),
    TopicSpec(dlq(ORDERS_EVENTS), 1, dict(_FOREVER)),
    TopicSpec(dlq(LEDGER_EVENTS), 1, dict(_FOREVER)),
    # The sandbox clock is the sum of every step ever taken: kept forever, one partition (its
    # records also share one key, so a topic made with more partitions keeps them in order).
    TopicSpec(SANDBOX_CLOCK, 1, dict(_FOREVER)),
)

# Kafka's own rule for topic names, applied to what a prefix may add.
TOPIC_PREFIX_PATTERN: Final = r"^[A-Za-z0-9._-]{0,100}$"
_PREFIX = re.compile(TOPIC_PREFIX_PATTERN)


@dataclass(frozen=True, slots=True)
class Topics:
    """The physical topic names of one deployment: the logical names behind `prefix`."""

    prefix: str = ""

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise ValueError(f"invalid topic prefix {self.prefix!r}")

    def name(self, logical: str) -> str:
        return f"{self.prefix}{logical}"

    def of(self, event_type: str) -> str:
        """The topic an event of `event_type` is published to."""
        return self.name(topic_of(event_type))

    @property
    def webhooks_raw(self) -> str:
        return self.name(WEBHOOKS_RAW)

    @property
    def payments_events(self) -> str:
        return self.name(PAYMENTS_EVENTS)

    @property
    def orders_events(self) -> str:
        return self.name(ORDERS_EVENTS)

    @property
    def ledger_events(self) -> str:
        return self.name(LEDGER_EVENTS)

    @property
    def sandbox_clock(self) -> str:
        return self.name(SANDBOX_CLOCK)

    def specs(self) -> tuple[TopicSpec, ...]:
        """Every topic paystream uses, with its configuration, under this prefix."""
        return tuple(TopicSpec(self.name(s.name), s.partitions, dict(s.config)) for s in TOPICS)
