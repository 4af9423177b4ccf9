"""POST /webhooks/stripe against the real Kafka broker: what is answered, and what the topics
`webhooks.raw` and `payments.events` really hold afterwards (read back with a fresh consumer)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from fastapi.routing import APIRoute
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import Message, Scope

from paystream.devtools.fakes.signing import sign_stripe_payload
from paystream.devtools.stripe_events import (
    checkout_session_completed,
    encode,
    payment_intent_succeeded,
)
from paystream.notifications.providers.stripe.settings import StripeSettings
from paystream.shared.events import (
    MAX_AMOUNT_MINOR,
    Envelope,
    PaymentSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
)
from paystream.shared.http import ObservabilityMiddleware
from paystream.shared.topics import PAYMENTS_EVENTS, WEBHOOKS_RAW
from paystream.webhook_ingest.app import create_app
from paystream.webhook_ingest.settings import WebhookIngestSettings

if TYPE_CHECKING:
    from conftest import Ingest, Record, StartIngest, TopicReader

pytestmark = pytest.mark.integration

# Deletes every topic under a prefix (the root conftest's `delete_topics`).
DeleteTopics = Callable[[str], Awaitable[None]]

SECRET = "whsec_it_current"
OLD_SECRET = "whsec_it_previous"


class Service:
    """A running app and a Stripe signing its webhooks."""

    def __init__(self, ingest: Ingest) -> None:
        self.app = ingest.app
        self.http = ingest.http

    async def post(
        self,
        body: bytes,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sig = signature or sign_stripe_payload(body, secret, timestamp or int(time.time()))
        return await self.http.post(
            "/webhooks/stripe",
            content=body,
            headers={
                "Stripe-Signature": sig,
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )


StartService = Callable[..., Awaitable[Service]]


@pytest.fixture
async def start_service(start_ingest: StartIngest) -> StartService:
    async def start(**overrides: Any) -> Service:
        stripe = StripeSettings(webhook_secrets=SecretStr(f"{SECRET},{OLD_SECRET}"))
        return Service(
            await start_ingest(providers={"stripe": stripe}, own_topics=False, **overrides)
        )

    return start


@pytest.fixture
async def service(start_service: StartService) -> Service:
    return await start_service()


@pytest.fixture
def topics(default_topics: TopicReader) -> TopicReader:
    return default_topics


def _ids() -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:12]
    return f"evt_it_{tag}", f"ord_it_{tag}", f"user_it_{tag}"


def _paid(event_id: str, order_id: str, user_id: str, **kw: Any) -> dict[str, Any]:
    return checkout_session_completed(
        order_id=order_id,
        user_id=user_id,
        credits=1100,
        amount_minor=10000,
        currency="CNY",
        package_id="standard",
        event_id=event_id,
        **kw,
    )


def _envelope(rec: Record) -> Envelope:
    assert rec.value is not None
    return Envelope.from_bytes(rec.value)


async def _metric(service: Service, event_type: str, outcome: str) -> float:
    # Stripe's series: every provider counts some outcomes (too_large, ...) under the same type.
    text = (await service.http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if (
                s.name == "paystream_webhooks_total"
                and s.labels.get("provider") == "stripe"
                and s.labels.get("type") == event_type
                and s.labels.get("outcome") == outcome
            ):
                return float(s.value)
    return 0.0


# --- accepted ---------------------------------------------------------------------------------


async def test_signed_paid_session_is_published_to_both_topics_before_200(
    service: Service, topics: TopicReader
) -> None:
    event_id, order_id, user_id = _ids()
    event = _paid(event_id, order_id, user_id)
    body = encode(event)
    before = await topics.snapshot()
    accepted_before = await _metric(service, "checkout.session.completed", "accepted")

    r = await service.post(body)

    assert r.status_code == 200, r.text
    assert r.json() == {
        "received": True,
        "event_id": event_id,
        "type": "checkout.session.completed",
        "published": [WEBHOOKS_RAW, PAYMENTS_EVENTS],
    }
    # 200 means acknowledged: the records are readable now, without waiting.
    found = await topics.about(before, event_id)
    [raw_rec] = found[WEBHOOKS_RAW]
    [pay_rec] = found[PAYMENTS_EVENTS]

    assert raw_rec.key == user_id.encode()
    raw_env = _envelope(raw_rec)
    assert raw_env.id == deterministic_id("stripe", event_id, "raw")
    assert raw_env.source == "paystream/webhook-ingest/stripe"
    raw = raw_env.payload_as(WebhookReceivedV1)
    assert raw.body.encode() == body  # verbatim, byte for byte
    assert (raw.provider, raw.provider_event_id) == ("stripe", event_id)
    assert raw.provider_event_type == "checkout.session.completed"
    assert raw.content_type == "application/json"
    assert dict(raw_rec.headers)["ce_id"] == str(raw_env.id).encode()

    assert pay_rec.key == user_id.encode()
    pay_env = _envelope(pay_rec)
    assert pay_env.id == deterministic_id("stripe", event_id, "payment")
    assert pay_env.subject == order_id
    assert dict(pay_rec.headers)["ce_type"] == PaymentSucceededV1.TYPE.encode()
    paid = pay_env.payload_as(PaymentSucceededV1)
    session = event["data"]["object"]
    assert (paid.order_id, paid.user_id, paid.credits) == (order_id, user_id, 1100)
    assert (paid.amount_minor, paid.currency, paid.package_id) == (10000, "CNY", "standard")
    assert paid.provider_event_id == event_id
    assert paid.provider_session_id == session["id"]
    assert paid.provider_payment_id == session["payment_intent"]
    assert await _metric(service, "checkout.session.completed", "accepted") == accepted_before + 1


async def test_the_same_event_three_times_gives_three_records_with_one_envelope_id(
    service: Service, topics: TopicReader
) -> None:
    event_id, order_id, user_id = _ids()
    body = encode(_paid(event_id, order_id, user_id))
    before = await topics.snapshot()
    for _ in range(3):
        r = await service.post(body)
        assert r.status_code == 200, r.text
    found = await topics.about(before, event_id)
    assert len(found[WEBHOOKS_RAW]) == 3
    assert len(found[PAYMENTS_EVENTS]) == 3
    assert {_envelope(r).id for r in found[WEBHOOKS_RAW]} == {
        deterministic_id("stripe", event_id, "raw")
    }
    assert {_envelope(r).id for r in found[PAYMENTS_EVENTS]} == {
        deterministic_id("stripe", event_id, "payment")
    }
    assert {r.key for r in found[PAYMENTS_EVENTS] + found[WEBHOOKS_RAW]} == {user_id.encode()}


async def test_previous_secret_is_accepted_during_rotation(
    service: Service, topics: TopicReader
) -> None:
    event_id, order_id, user_id = _ids()
    body = encode(_paid(event_id, order_id, user_id))
    before = await topics.snapshot()
    r = await service.post(body, secret=OLD_SECRET)
    assert r.status_code == 200, r.text
    found = await topics.about(before, event_id)
    assert (len(found[WEBHOOKS_RAW]), len(found[PAYMENTS_EVENTS])) == (1, 1)


async def test_payment_intent_succeeded_is_published(service: Service, topics: TopicReader) -> None:
    event_id, order_id, user_id = _ids()
    event = payment_intent_succeeded(
        order_id=order_id,
        user_id=user_id,
        credits=500,
        amount_minor=5000,
        currency="CNY",
        event_id=event_id,
    )
    before = await topics.snapshot()
    r = await service.post(encode(event))
    assert r.status_code == 200, r.text
    [pay_rec] = (await topics.about(before, event_id))[PAYMENTS_EVENTS]
    paid = _envelope(pay_rec).payload_as(PaymentSucceededV1)
    assert paid.provider_payment_id == event["data"]["object"]["id"]
    assert (paid.credits, paid.amount_minor) == (500, 5000)


async def test_unpaid_session_is_acknowledged_and_kept_raw_only(
    service: Service, topics: TopicReader
) -> None:
    event_id, order_id, user_id = _ids()
    body = encode(_paid(event_id, order_id, user_id, payment_status="unpaid"))
    before = await topics.snapshot()
    r = await service.post(body)
    assert r.status_code == 200, r.text
    assert r.json()["published"] == [WEBHOOKS_RAW]
    assert "ignored" not in r.json()
    found = await topics.about(before, event_id)
    assert [rec.key for rec in found[WEBHOOKS_RAW]] == [user_id.encode()]
    assert found[PAYMENTS_EVENTS] == []


async def test_unhandled_type_is_acknowledged_ignored_and_kept_raw(
    service: Service, topics: TopicReader
) -> None:
    event_id = f"evt_it_{uuid.uuid4().hex}"
    body = orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "customer.created",
            "created": int(time.time()),
            "data": {"object": {"id": "cus_1", "object": "customer", "metadata": {}}},
        }
    )
    before = await topics.snapshot()
    ignored_before = await _metric(service, "customer.created", "ignored")
    r = await service.post(body)
    assert r.status_code == 200, r.text
    assert r.json()["received"] is True
    assert r.json()["ignored"] is True
    found = await topics.about(before, event_id)
    [raw_rec] = found[WEBHOOKS_RAW]
    assert raw_rec.key == event_id.encode()  # no user known: keyed by the Stripe event id
    assert found[PAYMENTS_EVENTS] == []
    assert await _metric(service, "customer.created", "ignored") == ignored_before + 1


async def test_handled_type_that_is_not_our_order_is_ignored_but_kept_raw(
    service: Service, topics: TopicReader
) -> None:
    event_id, _, _ = _ids()
    event = _paid(event_id, "x", "y")
    event["data"]["object"]["metadata"] = {"campaign": "other product"}
    before = await topics.snapshot()
    r = await service.post(encode(event))
    assert r.status_code == 200, r.text
    assert r.json()["ignored"] is True
    assert r.json()["published"] == [WEBHOOKS_RAW]
    found = await topics.about(before, event_id)
    assert len(found[WEBHOOKS_RAW]) == 1
    assert found[PAYMENTS_EVENTS] == []


async def test_body_at_the_size_limit_is_published(
    start_service: StartService, topics: TopicReader
) -> None:
    limit = 256 * 1024
    service = await start_service(webhook_max_body_bytes=limit)
    event_id, order_id, user_id = _ids()
    event = _paid(event_id, order_id, user_id)
    event["data"]["object"]["custom_text"] = {"submit": {"message": ""}}
    pad = limit - len(encode(event))
    event["data"]["object"]["custom_text"]["submit"]["message"] = "x" * pad
    body = encode(event)
    assert len(body) == limit
    before = await topics.snapshot()
    r = await service.post(body)
    assert r.status_code == 200, r.text
    found = await topics.about(before, event_id)
    assert _envelope(found[WEBHOOKS_RAW][0]).payload_as(WebhookReceivedV1).body.encode() == body
    assert len(found[PAYMENTS_EVENTS]) == 1


# --- refused: 4xx and nothing published --------------------------------------------------------


async def test_refused_requests_publish_nothing(service: Service, topics: TopicReader) -> None:
    event_id, order_id, user_id = _ids()
    body = encode(_paid(event_id, order_id, user_id))
    now = int(time.time())
    before = await topics.snapshot()
    refused_before = await _metric(service, "unverified", "rejected_signature")

    cases: dict[str, httpx.Response] = {
        "bad secret": await service.post(body, secret="whsec_attacker"),
        "stale": await service.post(body, timestamp=now - 305),
        "future": await service.post(body, timestamp=now + 305),
        "no header": await service.http.post("/webhooks/stripe", content=body),
        "garbage header": await service.post(body, signature="garbage"),
        "v0 only": await service.post(
            body, signature=sign_stripe_payload(body, SECRET, now).replace("v1=", "v0=")
        ),
        "tampered": await service.post(
            body.replace(b'"credits":"1100"', b'"credits":"9999"'),
            signature=sign_stripe_payload(body, SECRET, now),
        ),
    }
    expected = {
        "bad secret": "signature_invalid",
        "stale": "timestamp_outside_tolerance",
        "future": "timestamp_outside_tolerance",
        "no header": "signature_missing",
        "garbage header": "signature_invalid",
        "v0 only": "signature_invalid",
        "tampered": "signature_invalid",
    }
    assert {k: (r.status_code, r.json()["error"]["code"]) for k, r in cases.items()} == {
        k: (400, code) for k, code in expected.items()
    }
    found = await topics.about(before, event_id)
    assert found == {WEBHOOKS_RAW: [], PAYMENTS_EVENTS: []}
    after = await _metric(service, "unverified", "rejected_signature")
    assert after == refused_before + len(cases)

    # The same body, properly signed, goes through: the refusals above were about the signature.
    assert (await service.post(body)).status_code == 200
    assert len((await topics.about(before, event_id))[PAYMENTS_EVENTS]) == 1


@pytest.mark.parametrize(
    "template",
    [
        b'{"id": "EVT", "type": ',  # not JSON
        b'["EVT"]',  # not an object
        b'{"id": "EVT", "data": {"object": {}}}',  # no type
        b'{"type": "checkout.session.completed", "data": {"object": {"id": "EVT"}}}',  # no id
        b'{"id": "EVT", "type": "checkout.session.completed", "data": {}}',  # no data.object
    ],
)
async def test_malformed_payloads_are_400_and_publish_nothing(
    service: Service, topics: TopicReader, template: bytes
) -> None:
    event_id, _, _ = _ids()
    body = template.replace(b"EVT", event_id.encode())
    before = await topics.snapshot()
    r = await service.post(body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "malformed_payload"
    assert await topics.about(before, event_id) == {WEBHOOKS_RAW: [], PAYMENTS_EVENTS: []}


async def test_oversized_bodies_are_413_with_or_without_content_length(
    start_service: StartService, topics: TopicReader
) -> None:
    service = await start_service(webhook_max_body_bytes=4096)
    event_id, order_id, user_id = _ids()
    event = _paid(event_id, order_id, user_id)
    event["data"]["object"]["custom_text"] = {"submit": {"message": "x" * 4096}}
    body = encode(event)
    sig = sign_stripe_payload(body, SECRET, int(time.time()))
    before = await topics.snapshot()
    too_large_before = await _metric(service, "unverified", "too_large")

    declared = await service.post(body, signature=sig)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    chunked = await service.http.post(
        "/webhooks/stripe",
        content=chunks(),
        headers={"Stripe-Signature": sig, "Content-Type": "application/json"},
    )
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in chunked.request.headers

    for r in (declared, chunked):
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "payload_too_large"
    assert await topics.about(before, event_id) == {WEBHOOKS_RAW: [], PAYMENTS_EVENTS: []}
    assert await _metric(service, "unverified", "too_large") == too_large_before + 2


async def test_chunked_body_within_the_limit_is_accepted(
    start_service: StartService, topics: TopicReader
) -> None:
    service = await start_service(webhook_max_body_bytes=4096)
    event_id, order_id, user_id = _ids()
    body = encode(_paid(event_id, order_id, user_id))
    assert len(body) < 4096

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 100):
            yield body[i : i + 100]

    before = await topics.snapshot()
    r = await service.http.post(
        "/webhooks/stripe",
        content=chunks(),
        headers={
            "Stripe-Signature": sign_stripe_payload(body, SECRET, int(time.time())),
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 200, r.text
    found = await topics.about(before, event_id)
    assert _envelope(found[WEBHOOKS_RAW][0]).payload_as(WebhookReceivedV1).body.encode() == body


# --- Kafka unavailable: 503, Stripe retries -----------------------------------------------------


async def test_producer_gone_is_503_kafka_unavailable(service: Service) -> None:
    # The broker stays up for everyone else; this app's only connection to it is closed, which
    # is what a request sees when the producer can no longer reach Kafka.
    await service.app.state.producer.stop()
    event_id, order_id, user_id = _ids()
    unavailable_before = await _metric(service, "checkout.session.completed", "kafka_unavailable")
    r = await service.post(encode(_paid(event_id, order_id, user_id)))
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "kafka_unavailable"
    after = await _metric(service, "checkout.session.completed", "kafka_unavailable")
    assert after == unavailable_before + 1


async def test_no_ack_within_the_timeout_is_503_kafka_unavailable(
    start_service: StartService, unique_suffix: str, delete_topics: DeleteTopics
) -> None:
    # Topics that do not exist on the broker (auto-creation is off): the producer can never get
    # an acknowledgement, exactly as when the partition leaders are down; the request must give
    # up at kafka_ack_timeout_s rather than hang until Stripe's own timeout. The service creates
    # its topics at start; they are deleted before the first webhook.
    prefix = f"absent-{unique_suffix}."
    service = await start_service(topic_prefix=prefix, kafka_ack_timeout_s=0.5)
    await delete_topics(prefix)
    event_id, order_id, user_id = _ids()
    started = time.monotonic()
    r = await service.post(encode(_paid(event_id, order_id, user_id)))
    elapsed = time.monotonic() - started
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "kafka_unavailable"
    assert 0.5 <= elapsed < 3.0


# --- operational endpoints ----------------------------------------------------------------------


async def test_health_readiness_metrics_and_docs(service: Service) -> None:
    assert (await service.http.get("/healthz")).json() == {"status": "ok"}
    ready = await service.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"kafka": "ok"}
    assert (await service.http.get("/metrics")).status_code == 200
    assert (await service.http.get("/docs")).status_code == 200
    spec = (await service.http.get("/openapi.json")).json()
    op = spec["paths"]["/webhooks/stripe"]["post"]
    assert {"200", "400", "413", "503"} <= set(op["responses"])


async def test_concurrent_webhooks_are_all_acknowledged_and_published(
    service: Service, topics: TopicReader
) -> None:
    marker = uuid.uuid4().hex
    bodies = [
        encode(_paid(f"evt_it_{marker}_{i}", f"ord_{marker}_{i}", f"user_{marker}_{i % 5}"))
        for i in range(50)
    ]
    before = await topics.snapshot()
    rs = await asyncio.gather(*(service.post(b) for b in bodies))
    assert [r.status_code for r in rs] == [200] * 50
    found = await topics.about(before, marker)
    assert len(found[WEBHOOKS_RAW]) == 50
    assert len(found[PAYMENTS_EVENTS]) == 50


# --- one server span per webhook, HTTP metrics, near misses answered by FastAPI ---------------


@pytest.fixture
def spans(service: Service) -> Iterator[InMemorySpanExporter]:
    """Finished spans of the process's tracer provider (installed by create_app)."""
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the processor stays, and exports nothing any more


def _traceparent(rec: Record) -> tuple[str, str]:
    """(trace id, span id) of the trace context a record carries."""
    version, trace_id, span_id, _flags = dict(rec.headers)["traceparent"].decode().split("-")
    assert version == "00"
    return trace_id, span_id


def _spans_of(spans: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [
        s
        for s in spans.get_finished_spans()
        if s.context is not None and format(s.context.trace_id, "032x") == trace_id
    ]


async def test_incoming_traceparent_is_the_parent_of_the_span_in_the_kafka_headers(
    service: Service, topics: TopicReader, spans: InMemorySpanExporter
) -> None:
    event_id, order_id, user_id = _ids()
    caller_trace, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    before = await topics.snapshot()

    r = await service.post(
        encode(_paid(event_id, order_id, user_id)),
        headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"},
    )

    assert r.status_code == 200, r.text
    found = await topics.about(before, event_id)
    records = found[WEBHOOKS_RAW] + found[PAYMENTS_EVENTS]
    assert len(records) == 2
    # Both records carry the one context injected for the request.
    [(trace_id, span_id)] = {_traceparent(rec) for rec in records}
    assert trace_id == caller_trace
    assert span_id != caller_span
    # One span for the webhook in this trace (no framework spans around it): the server span
    # whose context went into Kafka, child of the caller's span.
    [server] = _spans_of(spans, caller_trace)
    assert server.context is not None
    assert format(server.context.span_id, "016x") == span_id
    assert server.parent is not None
    assert server.parent.is_remote
    assert format(server.parent.span_id, "016x") == caller_span
    assert server.kind is SpanKind.SERVER
    assert server.name == "POST /webhooks/stripe"
    assert server.attributes is not None
    assert server.attributes["http.request.method"] == "POST"
    assert server.attributes["http.route"] == "/webhooks/stripe"
    assert server.attributes["http.response.status_code"] == 200
    assert server.status.status_code is StatusCode.UNSET


async def test_without_traceparent_each_webhook_starts_its_own_trace(
    service: Service, topics: TopicReader, spans: InMemorySpanExporter
) -> None:
    marker = uuid.uuid4().hex
    before = await topics.snapshot()
    for i in range(2):
        body = encode(_paid(f"evt_it_{marker}_{i}", f"ord_{marker}_{i}", f"user_{marker}"))
        assert (await service.post(body)).status_code == 200
    found = await topics.about(before, marker)
    by_event: dict[str, set[tuple[str, str]]] = {}
    for rec in found[WEBHOOKS_RAW] + found[PAYMENTS_EVENTS]:
        event_id = _envelope(rec).subject if rec.topic == WEBHOOKS_RAW else None
        event_id = event_id or _envelope(rec).payload_as(PaymentSucceededV1).provider_event_id
        by_event.setdefault(event_id, set()).add(_traceparent(rec))
    assert len(by_event) == 2
    contexts = [ctx for ctxs in by_event.values() for ctx in ctxs]
    assert len(contexts) == 2  # one context per request, shared by its two records
    assert contexts[0][0] != contexts[1][0]  # and a trace of its own
    for trace_id, span_id in contexts:
        [server] = _spans_of(spans, trace_id)
        assert server.parent is None
        assert server.context is not None
        assert format(server.context.span_id, "016x") == span_id


async def test_refused_webhook_span_and_http_metrics(
    service: Service, spans: InMemorySpanExporter
) -> None:
    caller_trace = uuid.uuid4().hex
    event_id, order_id, user_id = _ids()
    body = encode(_paid(event_id, order_id, user_id))
    labels = {"service": "webhook-ingest", "method": "POST", "route": "/webhooks/stripe"}
    ok_before = await _sample(service, "paystream_http_requests_total", status="200", **labels)
    bad_before = await _sample(service, "paystream_http_requests_total", status="400", **labels)
    timed_before = await _sample(service, "paystream_http_request_seconds_count", **labels)

    refused = await service.post(
        body,
        secret="whsec_attacker",
        headers={"traceparent": f"00-{caller_trace}-{uuid.uuid4().hex[:16]}-01"},
    )
    accepted = await service.post(body)

    assert (refused.status_code, accepted.status_code) == (400, 200)
    assert await _sample(service, "paystream_http_requests_total", status="200", **labels) == (
        ok_before + 1
    )
    assert await _sample(service, "paystream_http_requests_total", status="400", **labels) == (
        bad_before + 1
    )
    assert await _sample(service, "paystream_http_request_seconds_count", **labels) == (
        timed_before + 2
    )
    [server] = _spans_of(spans, caller_trace)
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 400
    assert server.status.status_code is StatusCode.UNSET  # a refusal is not a server error


async def test_other_requests_pass_through_to_fastapi(
    service: Service, spans: InMemorySpanExporter
) -> None:
    healthz_before = await _sample(
        service, "paystream_http_requests_total", route="/healthz", status="200"
    )

    assert (await service.http.get("/healthz")).json() == {"status": "ok"}
    # Near misses of the webhook route are FastAPI's to answer.
    not_found = await service.http.post("/webhooks/stripe/extra", content=b"{}")
    assert not_found.status_code == 404
    assert not_found.json()["error"]["code"] == "not_found"
    slash = await service.http.post("/webhooks/stripe/", content=b"{}")
    assert slash.status_code == 307
    assert slash.headers["location"].endswith("/webhooks/stripe")
    caller_trace = uuid.uuid4().hex
    spec = await service.http.get(
        "/openapi.json", headers={"traceparent": f"00-{caller_trace}-{uuid.uuid4().hex[:16]}-01"}
    )

    assert spec.status_code == 200
    op = spec.json()["paths"]["/webhooks/stripe"]["post"]
    assert set(op["responses"]) == {"200", "400", "413", "500", "503"}
    assert op["parameters"][0]["name"] == "Stripe-Signature"
    # Counted and traced by the shared ObservabilityMiddleware, as every request is.
    assert await _sample(
        service, "paystream_http_requests_total", route="/healthz", status="200"
    ) == (healthz_before + 1)
    [framework_span] = _spans_of(spans, caller_trace)
    assert framework_span.name == "GET /openapi.json"
    assert framework_span.instrumentation_scope is not None
    assert framework_span.instrumentation_scope.name == "paystream.http"


async def test_the_webhook_route_is_an_ordinary_route_behind_the_shared_middleware(
    service: Service, topics: TopicReader
) -> None:
    # No private front in the ASGI stack: the route is FastAPI's own, and the request goes
    # through the shared middleware (ServerErrorMiddleware outermost, then our
    # ObservabilityMiddleware) like any other.
    app = service.app
    assert (await service.http.get("/healthz")).status_code == 200  # the stack is built
    front = app.middleware_stack
    assert isinstance(front, ServerErrorMiddleware)
    assert isinstance(front.app, ObservabilityMiddleware)
    [route] = [r for r in app.routes if isinstance(r, APIRoute) and r.path == "/webhooks/stripe"]
    assert route.methods == {"POST"}

    event_id, order_id, user_id = _ids()
    body = encode(_paid(event_id, order_id, user_id))
    before = await topics.snapshot()
    r = await service.post(body)
    refused = await service.http.post("/webhooks/stripe", content=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "received": True,
        "event_id": event_id,
        "type": "checkout.session.completed",
        "published": [WEBHOOKS_RAW, PAYMENTS_EVENTS],
    }
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "signature_missing")
    found = await topics.about(before, event_id)
    assert (len(found[WEBHOOKS_RAW]), len(found[PAYMENTS_EVENTS])) == (1, 1)


async def test_content_length_that_is_not_a_number_is_400(service: Service) -> None:
    r = await service.post(b"{}", headers={"Content-Length": "two"})
    assert r.status_code == 400
    assert r.json() == {
        "error": {"code": "bad_request", "message": "Content-Length is not a number"}
    }


async def test_client_gone_before_its_body_is_answered_with_nothing(
    service: Service, topics: TopicReader
) -> None:
    before = await topics.snapshot()
    gone_before = await _sample(
        service,
        "paystream_http_requests_total",
        route="/webhooks/stripe",
        status="500",
    )
    event_id, order_id, user_id = _ids()
    body = encode(_paid(event_id, order_id, user_id))
    messages: list[Message] = [
        {"type": "http.request", "body": body[:100], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/stripe",
        "raw_path": b"/webhooks/stripe",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"stripe-signature", sign_stripe_payload(body, SECRET, int(time.time())).encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("webhook-ingest", 80),
    }
    await service.app(scope, receive, send)

    assert sent == []
    assert await topics.about(before, event_id) == {WEBHOOKS_RAW: [], PAYMENTS_EVENTS: []}
    # Counted as the shared middleware counts a request nobody answered.
    assert await _sample(
        service, "paystream_http_requests_total", route="/webhooks/stripe", status="500"
    ) == (gone_before + 1)


async def test_webhook_before_the_service_started_is_500_internal_error() -> None:
    # No lifespan, so no pipeline: the route's one unexpected failure.
    app = create_app(
        WebhookIngestSettings(), {"stripe": StripeSettings(webhook_secrets=SecretStr(SECRET))}
    )
    body = b'{"id": "evt_1"}'
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://webhook-ingest"
    ) as http:
        r = await http.post(
            "/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": sign_stripe_payload(body, SECRET, int(time.time()))},
        )
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "internal_error", "message": "internal error"}}


async def _sample(service: Service, name: str, /, **labels: str) -> float:
    """The value of one Prometheus sample of this service (0 if it does not exist yet).

    The registry is per process: when other services' apps ran in the same test session, their
    series (e.g. their own /healthz) are there too, so the service label is always matched."""
    text = (await service.http.get("/metrics")).text
    wanted = {"service": "webhook-ingest", **labels}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in wanted.items()):
                return float(s.value)
    return 0.0


@pytest.mark.parametrize(
    "changes",
    [{"amount_minor": MAX_AMOUNT_MINOR + 1}, {"currency": "ZZZ"}],
    ids=["amount", "currency"],
)
async def test_an_absurd_amount_or_currency_is_acknowledged_kept_raw_and_not_published(
    service: Service, topics: TopicReader, changes: dict[str, Any]
) -> None:
    """Issue 10: no 500 (Stripe would retry it for days), no dead letter, no payment event; the
    notification stays in webhooks.raw for an operator."""
    event_id, order_id, user_id = _ids()
    event = checkout_session_completed(
        **{
            "order_id": order_id,
            "user_id": user_id,
            "credits": 1100,
            "amount_minor": 10000,
            "currency": "CNY",
            "package_id": "standard",
            "event_id": event_id,
            **changes,
        }
    )
    before = await topics.snapshot()
    r = await service.post(encode(event))
    assert r.status_code == 200, r.text
    assert r.json()["published"] == [WEBHOOKS_RAW]
    found = await topics.about(before, event_id)
    assert [rec.key for rec in found[WEBHOOKS_RAW]] == [user_id.encode()]
    assert found[PAYMENTS_EVENTS] == []
