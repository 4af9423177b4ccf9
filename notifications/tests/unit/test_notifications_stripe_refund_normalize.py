"""Stripe refund events -> RefundSucceededV1 / RefundFailedV1, on Stripe's own Refund and Charge
shapes (fixtures/stripe_refund.json, fixtures/stripe_charge.json, see fixtures/README.md)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from paystream.devtools import stripe_events
from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.providers.stripe.normalize import (
    HANDLED_TYPES,
    REFUND_TYPES,
    SOURCE,
    normalize,
    normalize_raw,
    parse_event,
)
from paystream.shared.events import (
    MAX_AMOUNT_MINOR,
    Envelope,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    WebhookReceivedV1,
    refund_event_id,
)

FIXTURES = Path(__file__).parent / "fixtures"
REFUND = json.loads((FIXTURES / "stripe_refund.json").read_text())
CHARGE = json.loads((FIXTURES / "stripe_charge.json").read_text())

CREATED = 1_760_000_777
RECEIVED_AT = datetime(2025, 10, 9, 8, 0, 0, tzinfo=UTC)
RE_ID = "re_3SGyWzB7WZ01zgkW1AbCdEf"
PI_ID = "pi_3SGyWzB7WZ01zgkW0x"
CH_ID = "ch_3SGyWzB7WZ01zgkW0y"
OUR_REFUND = "0b7c6a52-0000-4000-8000-000000000001"
REFUND_META = {"order_id": "ord_42", "user_id": "user_7", "refund_id": OUR_REFUND}
PAYMENT_META = {"order_id": "ord_42", "user_id": "user_7", "credits": "1100", "package_id": "std"}


def event(event_type: str, obj: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc = {
        "id": f"evt_{event_type.replace('.', '_')}",
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": CREATED,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    doc.update(top)
    return doc


def refund(**changes: Any) -> dict[str, Any]:
    r: dict[str, Any] = copy.deepcopy(REFUND)
    r.update(
        {
            "id": RE_ID,
            "amount": 4000,
            "currency": "cny",
            "charge": CH_ID,
            "payment_intent": PI_ID,
            "metadata": dict(REFUND_META),
            "status": "succeeded",
        }
    )
    r.update(changes)
    return r


def charge(refunds: list[dict[str, Any]] | None, **changes: Any) -> dict[str, Any]:
    c: dict[str, Any] = copy.deepcopy(CHARGE)
    c.update(
        {
            "id": CH_ID,
            "amount": 10000,
            "amount_captured": 10000,
            "amount_refunded": sum(r["amount"] for r in refunds or []),
            "currency": "cny",
            "metadata": dict(PAYMENT_META),
            "payment_intent": PI_ID,
            "refunded": False,
        }
    )
    if refunds is None:
        del c["refunds"]  # API versions from 2022-11-15
    else:
        c["refunds"] = {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "total_count": len(refunds),
            "url": f"/v1/charges/{CH_ID}/refunds",
        }
    c.update(changes)
    return c


def run(doc: dict[str, Any]) -> Normalized:
    return normalize(parse_event(orjson.dumps(doc)), received_at=RECEIVED_AT)


def only_refund(n: Normalized) -> RefundSucceededV1 | RefundFailedV1:
    assert len(n.events) == 1
    assert n.payment is None
    (r,) = n.refunds
    return r


def only_success(n: Normalized) -> RefundSucceededV1:
    r = only_refund(n)
    assert isinstance(r, RefundSucceededV1)
    return r


def test_refund_types_are_handled() -> None:
    assert {
        "charge.refunded",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.refund.updated",
    } == REFUND_TYPES
    assert REFUND_TYPES <= HANDLED_TYPES


def test_succeeded_refund_of_ours() -> None:
    n = run(event("refund.updated", refund()))
    assert n.outcome is Outcome.REFUND_SUCCEEDED
    assert not n.ignored
    assert not n.needs_operator
    assert (n.user_id, n.order_id) == ("user_7", "ord_42")
    assert only_refund(n) == RefundSucceededV1(
        order_id="ord_42",
        user_id="user_7",
        refund_id=OUR_REFUND,
        provider="stripe",
        provider_refund_id=RE_ID,
        provider_payment_id=PI_ID,
        amount_minor=4000,
        currency="CNY",
        reason=None,
        refunded_at=datetime.fromtimestamp(CREATED, UTC),
    )
    (ev,) = n.events
    assert ev.id == refund_event_id("succeeded", "stripe", RE_ID)
    assert (ev.source, ev.subject, ev.time) == (
        SOURCE,
        "ord_42",
        datetime.fromtimestamp(CREATED, UTC),
    )
    assert n.keyed() == [("user_7", ev)]


def test_our_reason_travels_in_metadata_and_stripes_reason_is_the_fallback() -> None:
    ours = run(event("refund.created", refund(metadata={**REFUND_META, "reason": "goodwill"})))
    assert only_refund(ours).reason == "goodwill"
    stripes = run(event("refund.created", refund(reason="requested_by_customer")))
    assert only_refund(stripes).reason == "requested_by_customer"


@pytest.mark.parametrize(
    "event_type", ["refund.created", "refund.updated", "charge.refund.updated"]
)
def test_every_stripe_event_about_one_refund_is_one_envelope_id(event_type: str) -> None:
    from_refund = run(event(event_type, refund()))
    from_charge = run(event("charge.refunded", charge([refund()])))
    assert from_refund.outcome is from_charge.outcome is Outcome.REFUND_SUCCEEDED
    assert [e.id for e in from_refund.events] == [e.id for e in from_charge.events]
    # Checkout's own announcement of the same refund uses the same function.
    assert from_refund.events[0].id == refund_event_id("succeeded", "stripe", RE_ID)
    assert only_refund(from_refund) == only_refund(from_charge)


def test_charge_refunded_lists_every_refund_of_the_charge() -> None:
    second = refund(id="re_second", amount=1000, metadata={**REFUND_META, "refund_id": "r2"})
    n = run(event("charge.refunded", charge([second, refund()])))
    assert n.outcome is Outcome.REFUND_SUCCEEDED
    assert [(r.provider_refund_id, r.amount_minor, r.refund_id) for r in n.refunds] == [
        ("re_second", 1000, "r2"),
        (RE_ID, 4000, OUR_REFUND),
    ]
    assert len({e.id for e in n.events}) == 2


def test_a_dashboard_refund_is_attributed_through_the_charge() -> None:
    # No metadata on the refund: the charge carries the PaymentIntent's order facts.
    n = run(event("charge.refunded", charge([refund(metadata={})])))
    r = only_success(n)
    assert (r.order_id, r.user_id, r.refund_id) == ("ord_42", "user_7", None)
    assert r.provider_payment_id == PI_ID


def test_a_dashboard_refund_without_the_charge_is_reported_for_checkout_to_match() -> None:
    # Nothing names the order: the refund is reported with its payment, and checkout matches it
    # by that reference (or lists it for an operator); ledger and invoicing never see a report.
    n = run(event("refund.updated", refund(metadata={})))
    assert n.outcome is Outcome.REFUND_REPORTED
    assert not n.ignored
    assert not n.needs_operator
    [(key, ev)] = n.keyed()
    assert key == f"stripe:{PI_ID}"
    assert ev.id == refund_event_id("reported", "stripe", RE_ID)
    assert ev.subject == PI_ID
    assert ev.data == RefundReportedV1(
        provider="stripe",
        provider_refund_id=RE_ID,
        provider_payment_id=PI_ID,
        amount_minor=4000,
        currency="CNY",
        reason=REFUND["reason"],
        refunded_at=ev.time,
    )


def test_a_dashboard_refund_naming_no_payment_is_still_for_an_operator() -> None:
    n = run(event("refund.updated", refund(metadata={}, payment_intent=None, charge=None)))
    assert n.outcome is Outcome.REFUND_UNATTRIBUTED
    assert n.events == ()
    assert n.ignored
    assert n.needs_operator
    assert n.detail is not None
    assert RE_ID in n.detail


def test_a_dashboard_refund_not_final_yet_publishes_nothing() -> None:
    n = run(event("refund.created", refund(metadata={}, status="pending")))
    assert (n.outcome, n.events) == (Outcome.REFUND_UNATTRIBUTED, ())


def test_an_expanded_charge_or_payment_intent_on_the_refund_gives_the_facts() -> None:
    by_charge = run(
        event("refund.updated", refund(metadata={}, charge={"id": CH_ID, "metadata": PAYMENT_META}))
    )
    assert only_refund(by_charge).order_id == "ord_42"
    by_pi = run(
        event(
            "refund.updated",
            refund(metadata={}, payment_intent={"id": PI_ID, "metadata": PAYMENT_META}),
        )
    )
    r = only_success(by_pi)
    assert (r.order_id, r.provider_payment_id) == ("ord_42", PI_ID)


def test_charge_refunded_without_the_refunds_list_waits_for_the_refund_events() -> None:
    n = run(event("charge.refunded", charge(None)))
    assert n.outcome is Outcome.REFUNDS_NOT_LISTED
    assert n.events == ()
    assert not n.ignored
    assert (n.user_id, n.order_id) == ("user_7", "ord_42")  # the raw record's key
    # The fixture's empty list reads the same.
    assert run(event("charge.refunded", charge([]))).outcome is Outcome.REFUNDS_NOT_LISTED


@pytest.mark.parametrize("status", ["pending", "requires_action"])
def test_a_refund_not_final_yet_publishes_nothing(status: str) -> None:
    n = run(event("refund.created", refund(status=status)))
    assert n.outcome is Outcome.REFUND_PENDING
    assert n.events == ()
    assert not n.ignored
    assert n.user_id == "user_7"


@pytest.mark.parametrize(
    ("event_type", "status", "failure", "reason"),
    [
        (
            "refund.failed",
            "failed",
            "expired_or_canceled_card",
            "refund failed: expired_or_canceled_card",
        ),
        ("refund.updated", "canceled", None, "refund canceled"),
    ],
)
def test_a_failed_or_canceled_refund(
    event_type: str, status: str, failure: str | None, reason: str
) -> None:
    obj = refund(status=status)
    if failure:
        obj["failure_reason"] = failure
    n = run(event(event_type, obj))
    assert n.outcome is Outcome.REFUND_FAILED
    assert only_refund(n) == RefundFailedV1(
        order_id="ord_42",
        user_id="user_7",
        refund_id=OUR_REFUND,
        provider="stripe",
        provider_refund_id=RE_ID,
        amount_minor=4000,
        currency="CNY",
        reason=reason,
        failed_at=datetime.fromtimestamp(CREATED, UTC),
    )
    assert n.events[0].id == refund_event_id("failed", "stripe", RE_ID)


@pytest.mark.parametrize(
    "changes",
    [
        {"metadata": {"order_id": "ord_42"}},  # names an order, no user
        {"metadata": {"user_id": "user_7", "refund_id": "r"}},  # names a user, no order
        {"amount": 0},
        {"amount": "4000"},
        {"currency": "xyz"},
        {"status": "exploded"},
        {"id": None},
    ],
)
def test_an_unreadable_refund_is_reported(changes: dict[str, Any]) -> None:
    n = run(event("refund.updated", refund(**changes)))
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.events == ()
    assert n.needs_operator
    assert n.detail


def test_one_bad_refund_does_not_hold_back_the_others() -> None:
    bad = refund(id="re_bad", currency="xyz")
    n = run(event("charge.refunded", charge([bad, refund()])))
    assert n.outcome is Outcome.INVALID_METADATA
    assert [r.provider_refund_id for r in n.refunds] == [RE_ID]
    assert not n.ignored
    assert n.needs_operator
    assert n.detail is not None
    assert "re_bad" in n.detail


def test_refund_envelopes_are_the_same_when_recomputed_or_reprocessed() -> None:
    body = orjson.dumps(event("charge.refunded", charge([refund()])), option=orjson.OPT_INDENT_2)
    live = normalize(parse_event(body), received_at=RECEIVED_AT)
    raw = WebhookReceivedV1(
        provider="stripe",
        provider_event_id=live.event_id,
        provider_event_type=live.event_type,
        content_type="application/json",
        body=body.decode(),
        received_at=datetime(2031, 1, 1, tzinfo=UTC),
    )
    replayed = normalize_raw(raw)
    assert replayed == live
    (a,), (b,) = live.envelopes(), replayed.envelopes()
    assert a.to_bytes() == b.to_bytes()
    assert a.type == RefundSucceededV1.TYPE
    assert Envelope.from_bytes(live.events[0].value()).payload() == only_refund(live)


def test_the_devtools_builders_are_what_the_normalizer_reads() -> None:
    meta = stripe_events.refund_metadata(order_id="o1", user_id="u1", refund_id="r1")
    r = stripe_events.refund_object(
        amount_minor=500, currency="USD", charge_id=CH_ID, payment_intent_id=PI_ID, metadata=meta
    )
    updated = run(stripe_events.refund_updated(r))
    refunded = run(
        stripe_events.charge_refunded(
            charge_amount_minor=1000, currency="USD", refunds=[r], payment_intent_id=PI_ID
        )
    )
    assert updated.outcome is refunded.outcome is Outcome.REFUND_SUCCEEDED
    assert updated.events[0].id == refunded.events[0].id
    assert only_refund(updated).amount_minor == 500
    newer = run(
        stripe_events.charge_refunded(
            charge_amount_minor=1000, currency="USD", refunds=[r], with_refunds_list=False
        )
    )
    assert newer.outcome is Outcome.REFUNDS_NOT_LISTED
    failed = stripe_events.refund_object(
        amount_minor=500, currency="USD", status="failed", metadata=meta, failure_reason="declined"
    )
    assert only_refund(run(stripe_events.refund_event("refund.failed", failed))).reason == (
        "refund failed: declined"
    )


def test_payments_still_come_out_as_one_keyed_event() -> None:
    doc = stripe_events.payment_intent_succeeded(
        order_id="o1", user_id="u1", credits=5, amount_minor=100, currency="USD"
    )
    n = run(doc)
    assert n.outcome is Outcome.PAYMENT_SUCCEEDED
    assert n.refunds == ()
    assert n.payment is not None
    assert n.keyed() == [("u1", n.events[0])]
    assert n.payment_event() is n.events[0]


# ---- absurd values (issue 10) -----------------------------------------------------------------
# An amount above MAX_AMOUNT_MINOR or a currency paystream does not know becomes no event, no
# exception (a 500 the provider would retry forever) and no dead letter, but an INVALID_METADATA
# outcome that needs an operator: the pipeline keeps the notification in webhooks.raw, answers
# success and logs it as an error.

TOO_MUCH = MAX_AMOUNT_MINOR + 1


@pytest.mark.parametrize("changes", [{"amount": TOO_MUCH}, {"currency": "zzz"}])
def test_a_refund_with_an_absurd_amount_or_currency_needs_an_operator(
    changes: dict[str, Any],
) -> None:
    n = run(event("refund.updated", refund(**changes)))
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.needs_operator
    assert n.events == ()
