"""Stripe refund webhooks through POST /webhooks/stripe on the real Kafka broker: what the topics
`webhooks.raw` and `payments.events` hold afterwards (read back with a fresh consumer)."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from paystream.devtools.fakes.signing import sign_stripe_payload
from paystream.devtools.stripe_events import (
    charge_refunded,
    encode,
    refund_event,
    refund_metadata,
    refund_object,
    refund_updated,
)
from paystream.notifications.providers.stripe.settings import StripeSettings
from paystream.shared.events import (
    Envelope,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    WebhookReceivedV1,
    refund_event_id,
)
from paystream.shared.topics import PAYMENTS_EVENTS, WEBHOOKS_RAW

if TYPE_CHECKING:
    from conftest import Ingest, StartIngest

pytestmark = pytest.mark.integration

SECRET = "whsec_refund_it"


@pytest.fixture
async def ingest(start_ingest: StartIngest) -> Ingest:
    stripe = StripeSettings(webhook_secrets=SecretStr(SECRET))
    return await start_ingest(providers={"stripe": stripe}, own_topics=False)


async def post(ingest: Ingest, event: dict[str, Any]) -> httpx.Response:
    body = encode(event)
    return await ingest.http.post(
        "/webhooks/stripe",
        content=body,
        headers={
            "Stripe-Signature": sign_stripe_payload(body, SECRET, int(time.time())),
            "Content-Type": "application/json",
        },
    )


def _ids() -> tuple[str, str, str, str]:
    tag = uuid.uuid4().hex[:12]
    return f"re_it_{tag}", f"ord_it_{tag}", f"user_it_{tag}", str(uuid.uuid4())


def _envelope(rec: Any) -> Envelope:
    return Envelope.from_bytes(rec.value)


async def test_charge_refunded_and_refund_updated_are_one_refund_event(ingest: Ingest) -> None:
    re_id, order_id, user_id, our_refund = _ids()
    pi_id = f"pi_it_{uuid.uuid4().hex[:12]}"
    refund = refund_object(
        refund_id=re_id,
        amount_minor=4000,
        currency="CNY",
        payment_intent_id=pi_id,
        metadata=refund_metadata(order_id=order_id, user_id=user_id, refund_id=our_refund),
    )
    before = await ingest.snapshot()
    # Stripe does not guarantee the order; both are answered the same way.
    for event in (
        refund_updated(refund),
        charge_refunded(
            charge_amount_minor=10000, currency="CNY", refunds=[refund], payment_intent_id=pi_id
        ),
    ):
        r = await post(ingest, event)
        assert r.status_code == 200, r.text
        assert r.json()["published"] == [WEBHOOKS_RAW, PAYMENTS_EVENTS]
        assert "ignored" not in r.json()

    found = await ingest.about(before, re_id)
    assert len(found[WEBHOOKS_RAW]) == 2
    assert {
        _envelope(r).payload_as(WebhookReceivedV1).provider_event_type for r in found[WEBHOOKS_RAW]
    } == {
        "refund.updated",
        "charge.refunded",
    }
    records = found[PAYMENTS_EVENTS]
    assert len(records) == 2
    # Two records, ONE event: consumers' inboxes apply it once.
    assert {_envelope(r).id for r in records} == {refund_event_id("succeeded", "stripe", re_id)}
    assert {r.key for r in records + found[WEBHOOKS_RAW]} == {user_id.encode()}
    for rec in records:
        assert dict(rec.headers)["ce_type"] == RefundSucceededV1.TYPE.encode()
        refunded = _envelope(rec).payload_as(RefundSucceededV1)
        assert (refunded.order_id, refunded.user_id, refunded.refund_id) == (
            order_id,
            user_id,
            our_refund,
        )
        assert (refunded.amount_minor, refunded.currency) == (4000, "CNY")
        assert (refunded.provider_refund_id, refunded.provider_payment_id) == (re_id, pi_id)


async def test_a_failed_refund_is_published_as_failed(ingest: Ingest) -> None:
    re_id, order_id, user_id, our_refund = _ids()
    refund = refund_object(
        refund_id=re_id,
        amount_minor=500,
        currency="USD",
        status="failed",
        failure_reason="expired_or_canceled_card",
        metadata=refund_metadata(order_id=order_id, user_id=user_id, refund_id=our_refund),
    )
    before = await ingest.snapshot()
    r = await post(ingest, refund_event("refund.failed", refund))
    assert r.status_code == 200, r.text
    found = await ingest.about(before, re_id)
    [rec] = found[PAYMENTS_EVENTS]
    env = _envelope(rec)
    assert env.id == refund_event_id("failed", "stripe", re_id)
    failed = env.payload_as(RefundFailedV1)
    assert failed.reason == "refund failed: expired_or_canceled_card"
    assert failed.refund_id == our_refund


async def test_a_dashboard_refund_is_reported_with_its_payment_for_checkout_to_match(
    ingest: Ingest, capfd: pytest.CaptureFixture[str]
) -> None:
    # Nothing on the refund names the order: it is published as a report keyed by its payment,
    # which checkout matches to the order holding that payment (or lists for an operator).
    re_id, _, _, _ = _ids()
    pi_id = f"pi_it_{uuid.uuid4().hex[:12]}"
    event = refund_updated(
        refund_object(refund_id=re_id, amount_minor=100, currency="EUR", payment_intent_id=pi_id)
    )
    before = await ingest.snapshot()
    r = await post(ingest, event)
    assert r.status_code == 200, r.text
    assert r.json()["published"] == [WEBHOOKS_RAW, PAYMENTS_EVENTS]
    assert r.json().get("ignored", False) is False
    found = await ingest.about(before, re_id)
    assert len(found[WEBHOOKS_RAW]) == 1
    [rec] = found[PAYMENTS_EVENTS]
    assert rec.key == f"stripe:{pi_id}".encode()
    assert _envelope(rec).id == refund_event_id("reported", "stripe", re_id)
    report = _envelope(rec).payload_as(RefundReportedV1)
    assert (report.order_id, report.provider_payment_id, report.amount_minor) == (None, pi_id, 100)
    assert report.currency == "EUR"


@pytest.mark.parametrize("case", ["pending", "unattributed", "not_listed"])
async def test_refund_events_without_an_outcome_are_kept_raw_only(
    ingest: Ingest, case: str, capfd: pytest.CaptureFixture[str]
) -> None:
    re_id, order_id, user_id, our_refund = _ids()
    meta = refund_metadata(order_id=order_id, user_id=user_id, refund_id=our_refund)
    if case == "pending":
        event = refund_event(
            "refund.created",
            refund_object(
                refund_id=re_id, amount_minor=100, currency="EUR", status="pending", metadata=meta
            ),
        )
    elif case == "unattributed":
        # A dashboard refund not final yet: nothing on the refund names the order.
        event = refund_event(
            "refund.created",
            refund_object(refund_id=re_id, amount_minor=100, currency="EUR", status="pending"),
        )
    else:
        event = charge_refunded(
            charge_amount_minor=100,
            currency="EUR",
            refunds=[
                refund_object(refund_id=re_id, amount_minor=100, currency="EUR", metadata=meta)
            ],
            metadata={"order_id": order_id, "user_id": user_id, "credits": "1"},
            with_refunds_list=False,
        )
    before = await ingest.snapshot()
    capfd.readouterr()
    r = await post(ingest, event)
    assert r.status_code == 200, r.text
    assert r.json()["published"] == [WEBHOOKS_RAW]
    # The service logs JSON lines to stdout.
    lines = [orjson.loads(x) for x in capfd.readouterr().out.splitlines() if x.startswith("{")]
    [log] = [e for e in lines if str(e.get("event", "")).startswith("stripe_webhook_")]
    if case == "unattributed":
        # Money went back and nothing names the order: an operator must see it.
        assert (log["event"], log["level"]) == ("stripe_webhook_refund_unattributed", "error")
        assert re_id in log["detail"]
    else:
        assert (log["event"], log["level"]) == ("stripe_webhook_refund_not_final", "info")
    # A charge.refunded without refunds.data does not name the refund: look for the order.
    found = await ingest.about(before, order_id if case == "not_listed" else re_id)
    assert len(found[WEBHOOKS_RAW]) == 1
    assert found[PAYMENTS_EVENTS] == []
    assert r.json().get("ignored", False) is (case == "unattributed")
