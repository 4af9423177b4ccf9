"""Response bodies of the webhook endpoints (documentation; the hot path writes them directly)."""

from __future__ import annotations

from pydantic import BaseModel, Field


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


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
