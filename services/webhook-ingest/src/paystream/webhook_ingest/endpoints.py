"""HTTP endpoints of webhook-ingest: `POST /webhooks/stripe`."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from paystream.shared.errors import BadRequest, PayloadTooLarge
from paystream.webhook_ingest.schemas import ErrorBody, WebhookAccepted
from paystream.webhook_ingest.service import StripeWebhookService, count

router = APIRouter(tags=["webhooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "`signature_missing`, `signature_invalid`, "
        "`timestamp_outside_tolerance` or `malformed_payload`: nothing was published",
    },
    413: {"model": ErrorBody, "description": "`payload_too_large`: nothing was published"},
    503: {
        "model": ErrorBody,
        "description": "`kafka_unavailable`: Kafka did not acknowledge; Stripe retries",
    },
}


@router.post(
    "/webhooks/stripe",
    summary="Receive a Stripe webhook",
    description="Verifies `Stripe-Signature` over the raw body, publishes the verified event "
    "to `webhooks.raw` and its normalized payment event (if any) to `payments.events`, and "
    "answers 200 only after Kafka acknowledged both (acks=all).",
    response_model=WebhookAccepted,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "parameters": [
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]",
            }
        ],
    },
)
async def stripe_webhook(request: Request) -> Response:
    service: StripeWebhookService = request.app.state.stripe_webhooks
    body = await read_limited_body(request, request.app.state.max_body_bytes)
    headers = request.headers
    result = await service.ingest(
        body, headers.get("stripe-signature"), headers.get("content-type") or "application/json"
    )
    content: dict[str, Any] = {
        "received": True,
        "event_id": result.event_id,
        "type": result.event_type,
        "published": list(result.published),
    }
    if result.ignored:
        content["ignored"] = True
    return Response(orjson.dumps(content), media_type="application/json")


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` bytes whether or not Content-Length says so
    (a chunked body has none, and a declared length is only a claim)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None
        if size > limit:
            count("too_large")
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            count("too_large")
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
