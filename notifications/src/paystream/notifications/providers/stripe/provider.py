"""Stripe as the webhook pipeline sees it: `POST /webhooks/stripe`, signed by `Stripe-Signature`,
answered with JSON (errors in the shared `{"error": ...}` body; Stripe retries any non-2xx)."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, Field

from paystream.notifications.errors import MalformedPayload, NotificationRefused
from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.provider import (
    Accepted,
    Answer,
    ErrorBody,
    LogNames,
    NotificationProvider,
    Received,
    RouteDoc,
)
from paystream.notifications.providers.stripe.normalize import StripeEvent, normalize, normalize_raw
from paystream.notifications.providers.stripe.settings import StripeSettings
from paystream.notifications.providers.stripe.verify import StripeSignatureVerifier, StripeVerifier
from paystream.shared.events import WebhookReceivedV1

PATH: Final = "/webhooks/stripe"


class WebhookAccepted(BaseModel):
    received: bool = True
    event_id: str = Field(description="the provider's event id")
    type: str = Field(description="the provider's event type")
    ignored: bool = Field(
        default=False,
        description="true when the event is not one paystream acts on (unhandled type, or not "
        "an order of ours); it is still kept in webhooks.raw",
    )
    published: list[str] = Field(description="topics that acknowledged the event")


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "`signature_missing`, `signature_invalid`, "
        "`timestamp_outside_tolerance`, `malformed_payload` or `bad_request` (a Content-Length "
        "that is not a number): nothing was published",
    },
    413: {"model": ErrorBody, "description": "`payload_too_large`: nothing was published"},
    500: {"model": ErrorBody, "description": "`internal_error`: nothing was acknowledged"},
    503: {
        "model": ErrorBody,
        "description": "`kafka_unavailable`: Kafka did not acknowledge; Stripe retries",
    },
}


class StripeProvider(NotificationProvider[StripeSettings]):
    name = "stripe"
    path = PATH
    settings_type = StripeSettings
    log = LogNames(
        prefix="stripe_webhook",
        id_field="event_id",
        outcomes={
            Outcome.INVALID_METADATA: "invalid_metadata",
            Outcome.REFUND_UNATTRIBUTED: "refund_unattributed",
            Outcome.AWAITING_PAYMENT: "awaiting_payment",
            Outcome.REFUND_PENDING: "refund_not_final",
            Outcome.REFUNDS_NOT_LISTED: "refund_not_final",
        },
    )
    doc = RouteDoc(
        summary="Receive a Stripe webhook",
        description="Verifies `Stripe-Signature` over the raw body, publishes the verified event "
        "to `webhooks.raw` and its normalized payment event (if any) to `payments.events`, and "
        "answers 200 only after Kafka acknowledged both (acks=all).",
        request_content_type="application/json",
        responses=_ERRORS,
        headers=(
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "maxLength": 4096},
                "description": "t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]",
            },
        ),
        response_model=WebhookAccepted,
    )

    def verifier(self, settings: StripeSettings) -> StripeVerifier:
        return StripeVerifier(
            StripeSignatureVerifier(settings.secrets(), tolerance_s=settings.webhook_tolerance_s)
        )

    def normalize(self, raw: WebhookReceivedV1) -> Normalized:
        return normalize_raw(raw)

    def normalize_received(self, raw: WebhookReceivedV1, received: Received) -> Normalized:
        # The verifier parsed the body `raw.body` was decoded from: the same event, read once.
        if isinstance(received.parsed, StripeEvent):
            return normalize(received.parsed, received_at=raw.received_at)
        return self.normalize(raw)

    def accepted(self, result: Accepted) -> Answer:
        content: dict[str, Any] = {
            "received": True,
            "event_id": result.event_id,
            "type": result.event_type,
            "published": list(result.published),
        }
        if result.ignored:
            content["ignored"] = True
        return Answer.json(content)

    def refusal_outcome(self, error: NotificationRefused) -> str:
        # Every signature refusal under one label, as paystream has always counted Stripe's.
        return "malformed" if isinstance(error, MalformedPayload) else "rejected_signature"
