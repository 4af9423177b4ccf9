"""What happens to a Stripe webhook: verify, parse, normalize, publish, and only then answer.

Nothing is stored here: Kafka is the only state. `webhooks.raw` gets every verified event
verbatim (the system of record for reprocessing); `payments.events` gets the normalized payment
or refund events when there are any. Every envelope id is derived from Stripe's ids (the event
id for the raw record and payments, the refund id for refunds), so a webhook Stripe delivers
again (it retries until it sees a 2xx), or another Stripe event about the same refund, becomes
the same events and consumers' inboxes drop the copies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter

from paystream.shared.events import WebhookReceivedV1, deterministic_id
from paystream.webhook_ingest.normalize import (
    PROVIDER,
    SOURCE,
    MalformedPayload,
    Normalized,
    Outcome,
    normalize,
    parse_event,
)
from paystream.webhook_ingest.publish import AckedPublisher, KafkaUnavailable
from paystream.webhook_ingest.records import OutgoingEvent
from paystream.webhook_ingest.signatures import SignatureRefused, StripeSignatureVerifier

log = structlog.get_logger(__name__)

WEBHOOKS = Counter(
    "paystream_webhooks_total",
    "Provider webhooks received, by outcome",
    ["provider", "type", "outcome"],
)
# Refused requests are unauthenticated: their claimed type never becomes a label value.
UNVERIFIED_TYPE = "unverified"


def count(outcome: str, event_type: str = UNVERIFIED_TYPE, provider: str = PROVIDER) -> None:
    WEBHOOKS.labels(provider, event_type, outcome).inc()


@dataclass(frozen=True, slots=True)
class IngestResult:
    event_id: str
    event_type: str
    published: tuple[str, ...]
    normalized: Normalized

    @property
    def ignored(self) -> bool:
        return self.normalized.ignored


class StripeWebhookService:
    def __init__(
        self,
        *,
        producer: AIOKafkaProducer,
        verifier: StripeSignatureVerifier,
        raw_topic: str,
        payments_topic: str,
        ack_timeout_s: float,
    ) -> None:
        self._publisher = AckedPublisher(producer, ack_timeout_s=ack_timeout_s)
        self._verifier = verifier
        self._raw_topic = raw_topic
        self._payments_topic = payments_topic

    async def ingest(self, body: bytes, signature: str | None, content_type: str) -> IngestResult:
        """Verify and publish one webhook; raises SignatureRefused, MalformedPayload or
        KafkaUnavailable, and in each of those cases nothing was acknowledged to the caller."""
        now = time.time()
        try:
            self._verifier.verify(body, signature, now=now)
        except SignatureRefused as exc:
            count("rejected_signature")
            log.warning("stripe_webhook_refused", code=exc.code, reason=exc.message)
            raise
        try:
            event = parse_event(body)
        except MalformedPayload as exc:
            count("malformed")
            log.warning("stripe_webhook_malformed", reason=exc.message)
            raise

        received_at = datetime.fromtimestamp(now, UTC)
        normalized = normalize(event, received_at=received_at)
        raw = OutgoingEvent(
            WebhookReceivedV1(
                provider=PROVIDER,
                provider_event_id=event.id,
                provider_event_type=event.type,
                content_type=content_type,
                # parse_event succeeded, so the body is valid UTF-8 (orjson refuses anything else).
                body=body.decode("utf-8"),
                received_at=received_at,
            ),
            source=SOURCE,
            id=deterministic_id(PROVIDER, event.id, "raw"),
            time=received_at,
            subject=event.id,
        )
        events = [(self._raw_topic, normalized.user_id or event.id, raw)]
        if normalized.events:
            events.extend((self._payments_topic, key, ev) for key, ev in normalized.keyed())

        try:
            await self._publisher.publish(events)
        except KafkaUnavailable as exc:
            count("kafka_unavailable", event.type)
            log.error(
                "stripe_webhook_not_published",
                event_id=event.id,
                type=event.type,
                error=repr(exc.__cause__),
            )
            raise

        self._report(normalized)
        return IngestResult(event.id, event.type, tuple(t for t, _, _ in events), normalized)

    @staticmethod
    def _report(n: Normalized) -> None:
        count("ignored" if n.ignored else "accepted", n.event_type)
        if n.events and not n.needs_operator:
            return  # the hot path logs nothing
        fields = {
            "event_id": n.event_id,
            "type": n.event_type,
            "outcome": n.outcome.value,
            "detail": n.detail,
            "order_id": n.order_id,
            "user_id": n.user_id,
        }
        if n.outcome is Outcome.INVALID_METADATA:
            # An event that names an order but cannot be read may be money we did not credit
            # (or a refund we did not take back): it stays in webhooks.raw, and an operator must
            # look at it.
            log.error("stripe_webhook_invalid_metadata", published=len(n.events), **fields)
        elif n.outcome is Outcome.REFUND_UNATTRIBUTED:
            # Money went back to a payer and no event names the order (a dashboard refund whose
            # charge.refunded lacked refunds.data, or a refund of a payment that is not ours).
            log.error("stripe_webhook_refund_unattributed", published=len(n.events), **fields)
        elif n.outcome is Outcome.AWAITING_PAYMENT:
            log.info("stripe_webhook_awaiting_payment", **fields)
        elif n.outcome in (Outcome.REFUND_PENDING, Outcome.REFUNDS_NOT_LISTED):
            log.info("stripe_webhook_refund_not_final", **fields)
        else:
            log.info("stripe_webhook_ignored", **fields)
