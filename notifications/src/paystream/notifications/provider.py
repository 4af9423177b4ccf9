"""What a provider plugs into the webhook pipeline: its route, verifier, normalizer and answers.

The pipeline (webhook-ingest) reads the body, has the provider's verifier turn it into a
`Received` notification (or refuse it), keeps that in `webhooks.raw`, runs `normalize` over the
very record it keeps (what `paystream reprocess-raw` runs later), publishes, and answers with
`accepted`; a refusal or Kafka's silence gets `refused` / `not_published`, or the shared error
body when those return None.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import orjson
from pydantic import BaseModel

from paystream.notifications.errors import MalformedPayload, NotificationRefused
from paystream.notifications.normalized import Normalized, Outcome
from paystream.shared.errors import PaystreamError
from paystream.shared.events import Provider, WebhookReceivedV1
from paystream.shared.providers.settings import ProviderSettings


@dataclass(frozen=True, slots=True)
class Received:
    """A verified notification as `webhooks.raw` keeps it."""

    event_id: str  # the provider's id of the notification (its retries keep it)
    event_type: str
    subject: str  # of the raw record; also its Kafka key when no user is known
    content_type: str
    body: str  # kept verbatim (or, for WeChat Pay, with its decrypted resource)
    # The body as the verifier read it (a provider's own type), for `normalize_received`; None
    # if the verifier did not read it.
    parsed: object = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """What became of a verified notification, for the provider's success answer."""

    event_id: str
    event_type: str
    published: tuple[str, ...]  # the topics that acknowledged its records
    ignored: bool


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    media_type: str

    @classmethod
    def json(cls, content: Mapping[str, Any], status: int = 200) -> Answer:
        return cls(status, orjson.dumps(content), "application/json")

    @classmethod
    def text(cls, content: str, status: int = 200) -> Answer:
        return cls(status, content.encode(), "text/plain; charset=utf-8")


class Verifier(Protocol):
    def verify(self, body: bytes, headers: Mapping[str, str], *, now: float) -> Received:
        """The verified notification, or a NotificationRefused (nothing may be published)."""
        ...


@dataclass(frozen=True, slots=True)
class LogNames:
    """The names of a provider's log events: `<prefix>_refused`, `_malformed`,
    `_not_published`, and for what a notification meant `<prefix>_<outcomes[outcome]>`
    (`_ignored` when not listed). Operators' alerts know them."""

    prefix: str
    id_field: str  # the name of the notification id field in every event
    outcomes: Mapping[Outcome, str] = field(default_factory=dict)

    def outcome_event(self, n: Normalized) -> str | None:
        """The event that reports `n`; None when its events were published and nothing needs
        an operator (the hot path logs nothing)."""
        if n.events and not n.needs_operator:
            return None
        return f"{self.prefix}_{self.outcomes.get(n.outcome, 'ignored')}"


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The shared error body, `{"error": {"code", "message"}}`."""

    error: ErrorDetail


@dataclass(frozen=True, slots=True)
class RouteDoc:
    """The route as /openapi.json documents it."""

    summary: str
    description: str
    request_content_type: str
    responses: dict[int | str, dict[str, Any]]
    headers: tuple[dict[str, Any], ...] = ()
    response_model: type[BaseModel] | None = None
    media_type: str = "application/json"  # of the success answer


S = TypeVar("S", bound=ProviderSettings)


class NotificationProvider(ABC, Generic[S]):
    """One provider's notifications; a subclass sets the attributes and the three methods."""

    name: Provider
    path: str
    settings_type: type[S]
    log: LogNames
    doc: RouteDoc

    @property
    def source(self) -> str:
        """The CloudEvents source of everything published for this provider."""
        return f"paystream/webhook-ingest/{self.name}"

    @abstractmethod
    def verifier(self, settings: S) -> Verifier:
        """Built once, at start (keys parsed then, not at the first notification)."""

    @abstractmethod
    def normalize(self, raw: WebhookReceivedV1) -> Normalized:
        """What a `webhooks.raw` record of this provider means (pure; the same on every run).
        Raises MalformedPayload if the record cannot be read."""

    def normalize_received(self, raw: WebhookReceivedV1, received: Received) -> Normalized:
        """`normalize(raw)` of the record just made of `received`, on the live path. A provider
        whose verifier already read the body (`received.parsed`) may normalize that instead of
        reading it again; the result must be `normalize(raw)`'s."""
        return self.normalize(raw)

    @abstractmethod
    def accepted(self, result: Accepted) -> Answer:
        """The answer once Kafka acknowledged every record."""

    def refused(self, error: PaystreamError) -> Answer | None:
        """The answer to a refusal (4xx) or to not being configured; None: the shared error body."""
        return None

    def not_published(self, error: PaystreamError) -> Answer | None:
        """The answer when Kafka did not acknowledge (the provider must retry)."""
        return self.refused(error)

    def refusal_outcome(self, error: NotificationRefused) -> str:
        """The `outcome` label a refusal is counted under in paystream_webhooks_total."""
        return "malformed" if isinstance(error, MalformedPayload) else f"rejected_{error.code}"
