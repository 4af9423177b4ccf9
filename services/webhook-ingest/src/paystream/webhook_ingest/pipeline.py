"""The one pipeline every provider's notification goes through: verify, record raw, normalize,
publish with acks=all, and only then answer.

Nothing is stored here: Kafka is the only state. `webhooks.raw` gets every verified notification
(the system of record for reprocessing) and `payments.events` what it means. Envelope ids are
derived from the provider's ids, so a notification delivered again (providers retry until they
hear success) becomes the same events, and consumers' inboxes drop the copies. What differs
between providers (verification, meaning, answers, log names) is their folder in
`paystream.notifications`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter

from paystream.notifications.errors import (
    MalformedPayload,
    NotificationRefused,
    ProviderNotConfigured,
)
from paystream.notifications.normalized import Normalized
from paystream.notifications.outgoing import OutgoingEvent
from paystream.notifications.provider import Accepted, Answer, NotificationProvider, Verifier
from paystream.shared.errors import PayloadTooLarge, PaystreamError
from paystream.shared.events import WebhookReceivedV1, deterministic_id
from paystream.shared.topics import Topics
from paystream.webhook_ingest.publish import KafkaUnavailable, Publisher, Record

log = structlog.get_logger(__name__)

WEBHOOKS = Counter(
    "paystream_webhooks_total",
    "Provider webhooks received, by outcome",
    ["provider", "type", "outcome"],
)
# Refused requests are unauthenticated: their claimed type never becomes a label value.
UNVERIFIED_TYPE = "unverified"


class Pipeline:
    """One provider's notifications through the steps; `verifier` None: not configured."""

    def __init__(
        self,
        provider: NotificationProvider[Any],
        verifier: Verifier | None,
        publisher: Publisher,
        topics: Topics,
    ) -> None:
        self.provider = provider
        self._verifier = verifier
        self._publisher = publisher
        self._topics = topics
        self._names = provider.log
        self._counters: dict[tuple[str, str], Any] = {}

    def check_configured(self) -> None:
        if self._verifier is None:
            raise ProviderNotConfigured(
                f"{self.provider.settings_type.display_name} is not configured on this "
                "webhook-ingest"
            )

    async def ingest(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The provider's success answer once Kafka acknowledged every record. Raises a
        NotificationRefused or KafkaUnavailable, and then nothing was acknowledged."""
        self.check_configured()
        assert self._verifier is not None
        now = time.time()
        try:
            received = self._verifier.verify(body, headers, now=now)
        except NotificationRefused as exc:
            self._count(self.provider.refusal_outcome(exc))
            if isinstance(exc, MalformedPayload):
                log.warning(f"{self._names.prefix}_malformed", reason=exc.message)
            else:
                log.warning(f"{self._names.prefix}_refused", code=exc.code, reason=exc.message)
            raise

        received_at = datetime.fromtimestamp(now, UTC)
        name = self.provider.name
        raw = WebhookReceivedV1(
            provider=name,
            provider_event_id=received.event_id,
            provider_event_type=received.event_type,
            content_type=received.content_type,
            body=received.body,
            received_at=received_at,
        )
        # Normalized from the very record webhooks.raw keeps: reprocessing it gives the same.
        normalized = self.provider.normalize_received(raw, received)
        keyed = [
            (
                normalized.user_id or received.subject,
                OutgoingEvent(
                    raw,
                    source=self.provider.source,
                    id=deterministic_id(name, received.event_id, "raw"),
                    time=received_at,
                    subject=received.subject,
                ),
            ),
            *normalized.keyed(),
        ]
        # Each event to the topic of its type: webhooks.raw, payments.events.
        records: list[Record] = [(self._topics.of(ev.data.TYPE), key, ev) for key, ev in keyed]
        try:
            await self._publisher.publish(records)
        except KafkaUnavailable as exc:
            self._count("kafka_unavailable", received.event_type)
            log.error(
                f"{self._names.prefix}_not_published",
                **{self._names.id_field: received.event_id},
                type=received.event_type,
                error=repr(exc.__cause__),
            )
            raise

        self._report(normalized)
        return self.provider.accepted(
            Accepted(
                received.event_id,
                received.event_type,
                tuple(dict.fromkeys(topic for topic, _, _ in records)),
                normalized.ignored,
            )
        )

    def failed(self, error: PaystreamError) -> Answer | None:
        """The provider's answer to `error`; None: the shared error body."""
        if isinstance(error, PayloadTooLarge):
            self._count("too_large")
        if isinstance(error, KafkaUnavailable):
            return self.provider.not_published(error)
        return self.provider.refused(error)

    def _report(self, n: Normalized) -> None:
        self._count("ignored" if n.ignored else "accepted", n.event_type)
        event = self._names.outcome_event(n)
        if event is None:
            return  # the hot path logs nothing
        fields: dict[str, object] = {
            self._names.id_field: n.event_id,
            "type": n.event_type,
            "outcome": n.outcome.value,
            "detail": n.detail,
            "order_id": n.order_id,
            "user_id": n.user_id,
        }
        if n.needs_operator:
            # Money may have moved that paystream did not record (an order it cannot read, a
            # refund it cannot attribute): the notification stays in webhooks.raw, and an
            # operator must look at it.
            log.error(event, published=len(n.events), **fields)
        else:
            log.info(event, **fields)

    def _count(self, outcome: str, event_type: str = UNVERIFIED_TYPE) -> None:
        # labels() locks and builds a key each time: the children of verified types are kept
        # (a provider has a handful of event types; refusals are labelled `unverified`).
        counter = self._counters.get((event_type, outcome))
        if counter is None:
            counter = WEBHOOKS.labels(self.provider.name, event_type, outcome)
            self._counters[(event_type, outcome)] = counter
        counter.inc()
