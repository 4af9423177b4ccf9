"""The Stripe event normalizer, on Stripe's own object shapes (see fixtures/README.md)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from paystream.devtools.fakes.signing import sign_stripe_payload
from paystream.notifications.errors import MalformedPayload
from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.providers.stripe.normalize import (
    PAYMENT_TYPES,
    SOURCE,
    StripeEvent,
    normalize,
    normalize_raw,
    parse_event,
)
from paystream.notifications.providers.stripe.provider import StripeProvider
from paystream.notifications.providers.stripe.settings import StripeSettings
from paystream.shared.events import (
    MAX_AMOUNT_MINOR,
    Envelope,
    PaymentFailedV1,
    PaymentSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
)

FIXTURES = Path(__file__).parent / "fixtures"
SESSION = json.loads((FIXTURES / "stripe_checkout_session.json").read_text())
PAYMENT_INTENT = json.loads((FIXTURES / "stripe_payment_intent.json").read_text())

CREATED = 1_760_000_123
RECEIVED_AT = datetime(2025, 10, 9, 8, 0, 0, tzinfo=UTC)
METADATA = {"order_id": "ord_42", "user_id": "user_7", "credits": "1100", "package_id": "standard"}


def event(event_type: str, obj: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc = {
        "id": "evt_1SGyX2B7WZ01zgkW3hQdQ9aZ",
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


def session(**changes: Any) -> dict[str, Any]:
    s: dict[str, Any] = copy.deepcopy(SESSION)
    s.update(
        {
            "id": "cs_test_a1b2c3",
            "amount_subtotal": 10000,
            "amount_total": 10000,
            "currency": "cny",
            "client_reference_id": "ord_42",
            "metadata": dict(METADATA),
            "payment_intent": "pi_3SGyWzB7WZ01zgkW0x",
            "payment_status": "paid",
            "status": "complete",
        }
    )
    s.update(changes)
    return s


def payment_intent(**changes: Any) -> dict[str, Any]:
    p: dict[str, Any] = copy.deepcopy(PAYMENT_INTENT)
    p.update(
        {
            "id": "pi_3SGyWzB7WZ01zgkW0x",
            "amount": 10000,
            "amount_received": 10000,
            "currency": "cny",
            "metadata": dict(METADATA),
            "status": "succeeded",
            "last_payment_error": None,
        }
    )
    p.update(changes)
    return p


def run(doc: dict[str, Any]) -> Normalized:
    return normalize(parse_event(orjson.dumps(doc)), received_at=RECEIVED_AT)


def test_paid_checkout_session_is_a_payment() -> None:
    n = run(event("checkout.session.completed", session()))
    assert n.outcome is Outcome.PAYMENT_SUCCEEDED
    assert not n.ignored
    assert n.payment == PaymentSucceededV1(
        order_id="ord_42",
        user_id="user_7",
        package_id="standard",
        credits=1100,
        amount_minor=10000,
        currency="CNY",
        provider="stripe",
        provider_event_id="evt_1SGyX2B7WZ01zgkW3hQdQ9aZ",
        provider_payment_id="pi_3SGyWzB7WZ01zgkW0x",
        provider_session_id="cs_test_a1b2c3",
        paid_at=datetime.fromtimestamp(CREATED, UTC),
    )
    assert (n.user_id, n.order_id) == ("user_7", "ord_42")


def test_expanded_payment_intent_on_a_session_gives_its_id() -> None:
    n = run(event("checkout.session.completed", session(payment_intent=payment_intent())))
    assert isinstance(n.payment, PaymentSucceededV1)
    assert n.payment.provider_payment_id == "pi_3SGyWzB7WZ01zgkW0x"


def test_zero_decimal_currency_amount_is_taken_as_is() -> None:
    n = run(event("checkout.session.completed", session(amount_total=1500, currency="jpy")))
    assert isinstance(n.payment, PaymentSucceededV1)
    assert (n.payment.amount_minor, n.payment.currency) == (1500, "JPY")


@pytest.mark.parametrize("status", ["unpaid", "no_payment_required"])
def test_completed_but_not_paid_session_awaits_payment(status: str) -> None:
    n = run(event("checkout.session.completed", session(payment_status=status)))
    assert n.outcome is Outcome.AWAITING_PAYMENT
    assert n.payment is None
    assert n.payment_envelope() is None
    assert not n.ignored
    assert n.user_id == "user_7"  # still keys webhooks.raw by user


def test_async_payment_succeeded_is_a_payment() -> None:
    n = run(event("checkout.session.async_payment_succeeded", session()))
    assert n.outcome is Outcome.PAYMENT_SUCCEEDED
    assert isinstance(n.payment, PaymentSucceededV1)
    assert n.payment.provider_session_id == "cs_test_a1b2c3"
    assert n.payment.amount_minor == 10000


def test_async_payment_failed_is_a_failure() -> None:
    n = run(event("checkout.session.async_payment_failed", session(payment_status="unpaid")))
    assert n.outcome is Outcome.PAYMENT_FAILED
    assert isinstance(n.payment, PaymentFailedV1)
    assert n.payment.order_id == "ord_42"
    assert n.payment.user_id == "user_7"
    assert n.payment.provider_session_id == "cs_test_a1b2c3"
    assert n.payment.provider_payment_id == "pi_3SGyWzB7WZ01zgkW0x"
    assert n.payment.reason.startswith("async_payment_failed")
    assert n.payment.failed_at == datetime.fromtimestamp(CREATED, UTC)


def test_payment_intent_succeeded_is_a_payment_of_the_amount_received() -> None:
    n = run(event("payment_intent.succeeded", payment_intent(amount=12000, amount_received=10000)))
    assert isinstance(n.payment, PaymentSucceededV1)
    assert n.payment.amount_minor == 10000
    assert n.payment.currency == "CNY"
    assert n.payment.credits == 1100
    assert n.payment.provider_payment_id == "pi_3SGyWzB7WZ01zgkW0x"
    assert n.payment.provider_session_id is None


def test_payment_intent_without_amount_received_falls_back_to_amount() -> None:
    pi = payment_intent()
    del pi["amount_received"]
    n = run(event("payment_intent.succeeded", pi))
    assert isinstance(n.payment, PaymentSucceededV1)
    assert n.payment.amount_minor == 10000


def test_payment_intent_failed_reason_comes_from_last_payment_error() -> None:
    err = {
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": "Your card has insufficient funds.",
        "type": "card_error",
    }
    pi = payment_intent(status="requires_payment_method", amount_received=0, last_payment_error=err)
    n = run(event("payment_intent.payment_failed", pi))
    assert n.outcome is Outcome.PAYMENT_FAILED
    assert isinstance(n.payment, PaymentFailedV1)
    assert n.payment.reason == "card_declined: Your card has insufficient funds."
    assert n.payment.provider_payment_id == "pi_3SGyWzB7WZ01zgkW0x"
    assert n.payment.provider_session_id is None


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ({"type": "api_error", "message": "An error occurred."}, "An error occurred."),
        ({"type": "card_error", "code": "expired_card"}, "expired_card"),
        ({"type": "idempotency_error"}, "payment_failed"),  # the stripe-mock fixture's own
        (None, "payment_failed"),
    ],
)
def test_payment_intent_failed_reason_fallbacks(error: Any, reason: str) -> None:
    n = run(event("payment_intent.payment_failed", payment_intent(last_payment_error=error)))
    assert isinstance(n.payment, PaymentFailedV1)
    assert n.payment.reason == reason


@pytest.mark.parametrize("event_type", sorted(PAYMENT_TYPES))
@pytest.mark.parametrize("metadata", [{}, {"campaign": "spring"}, None])
def test_handled_type_without_our_metadata_is_ignored(
    event_type: str, metadata: dict[str, str] | None
) -> None:
    obj = session if event_type.startswith("checkout") else payment_intent
    n = run(event(event_type, obj(metadata=metadata)))
    assert n.outcome is Outcome.NOT_OURS
    assert n.ignored
    assert n.payment is None
    assert n.user_id is None


@pytest.mark.parametrize(
    ("metadata", "user_id"),
    [
        ({**METADATA, "credits": "12.5"}, "user_7"),
        ({**METADATA, "credits": "-3"}, "user_7"),
        ({**METADATA, "credits": "abc"}, "user_7"),
        ({**METADATA, "credits": ""}, "user_7"),
        ({**METADATA, "credits": "\u0661\u0662"}, "user_7"),  # Arabic-Indic digits
        ({**METADATA, "credits": "9" * 19}, "user_7"),
        ({k: v for k, v in METADATA.items() if k != "credits"}, "user_7"),
        ({k: v for k, v in METADATA.items() if k != "user_id"}, None),
        ({**METADATA, "user_id": ""}, None),
        ({k: v for k, v in METADATA.items() if k != "order_id"}, "user_7"),
        ({**METADATA, "order_id": 42}, "user_7"),
        ({**METADATA, "package_id": 7}, "user_7"),
    ],
)
def test_invalid_metadata_is_ignored_but_keeps_the_user_for_the_key(
    metadata: dict[str, Any], user_id: str | None
) -> None:
    n = run(event("checkout.session.completed", session(metadata=metadata)))
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.ignored
    assert n.payment is None
    assert n.user_id == user_id
    assert n.detail


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_total": None},
        {"amount_total": "10000"},
        {"amount_total": 100.0},
        {"amount_total": -1},
        {"currency": "xyz"},
        {"currency": None},
    ],
)
def test_unusable_amount_or_currency_is_invalid(changes: dict[str, Any]) -> None:
    n = run(event("checkout.session.completed", session(**changes)))
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.payment is None
    assert n.user_id == "user_7"


def test_credits_as_a_json_integer_are_accepted() -> None:
    n = run(event("payment_intent.succeeded", payment_intent(metadata={**METADATA, "credits": 5})))
    assert isinstance(n.payment, PaymentSucceededV1)
    assert n.payment.credits == 5


def test_package_id_is_optional() -> None:
    meta = {k: v for k, v in METADATA.items() if k != "package_id"}
    n = run(event("checkout.session.completed", session(metadata=meta)))
    assert isinstance(n.payment, PaymentSucceededV1)
    assert n.payment.package_id is None


@pytest.mark.parametrize("event_type", ["customer.created", "charge.succeeded", "invoice.created"])
def test_unhandled_types_are_ignored(event_type: str) -> None:
    n = run(event(event_type, {"id": "cus_1", "object": "customer", "metadata": METADATA}))
    assert n.outcome is Outcome.UNHANDLED_TYPE
    assert n.ignored
    assert n.payment is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"id": "evt_x", "type": ',
        b"[1, 2]",
        b'"evt"',
        b'{"type": "customer.created", "data": {"object": {}}}',
        b'{"id": "", "type": "customer.created", "data": {"object": {}}}',
        b'{"id": "evt_1", "data": {"object": {}}}',
        b'{"id": "evt_1", "type": 5, "data": {"object": {}}}',
        b'{"id": "evt_1", "type": "customer.created"}',
        b'{"id": "evt_1", "type": "customer.created", "data": {}}',
        b'{"id": "evt_1", "type": "customer.created", "data": {"object": []}}',
        b'{"id": "evt_1", "type": "x", "data": {"object": {"s": "\xff"}}}',  # not UTF-8
    ],
)
def test_malformed_payloads(body: bytes) -> None:
    with pytest.raises(MalformedPayload) as e:
        parse_event(body)
    assert e.value.code == "malformed_payload"
    assert e.value.status_code == 400


def test_payment_envelope_is_deterministic() -> None:
    doc = event("checkout.session.completed", session())
    first = run(doc).payment_envelope()
    later = normalize(
        parse_event(orjson.dumps(doc)), received_at=datetime(2030, 1, 1, tzinfo=UTC)
    ).payment_envelope()
    assert first is not None
    assert later is not None
    assert first.to_bytes() == later.to_bytes()
    assert first.id == deterministic_id("stripe", doc["id"], "payment")
    assert first.source == SOURCE
    assert first.subject == "ord_42"
    assert first.type == PaymentSucceededV1.TYPE
    assert first.time == datetime.fromtimestamp(CREATED, UTC)
    assert Envelope.from_bytes(first.to_bytes()).payload() == run(doc).payment


def test_event_without_created_uses_the_reception_time() -> None:
    doc = event("payment_intent.succeeded", payment_intent())
    del doc["created"]
    n = run(doc)
    assert isinstance(n.payment, PaymentSucceededV1)
    assert n.payment.paid_at == RECEIVED_AT


def test_rerunning_over_a_raw_record_gives_the_same_payment_event() -> None:
    body = orjson.dumps(event("checkout.session.completed", session()), option=orjson.OPT_INDENT_2)
    live = normalize(parse_event(body), received_at=RECEIVED_AT)
    raw = WebhookReceivedV1(
        provider="stripe",
        provider_event_id=live.event_id,
        provider_event_type=live.event_type,
        content_type="application/json",
        body=body.decode(),
        received_at=RECEIVED_AT,
    )
    replayed = normalize_raw(raw)
    assert replayed == live
    live_env, replayed_env = live.payment_envelope(), replayed.payment_envelope()
    assert live_env is not None
    assert replayed_env is not None
    assert replayed_env.to_bytes() == live_env.to_bytes()


@pytest.mark.parametrize(
    "doc",
    [
        event("checkout.session.completed", session()),
        event("checkout.session.completed", session(payment_status="unpaid")),
        event("payment_intent.payment_failed", payment_intent(status="requires_payment_method")),
        event("checkout.session.completed", session(metadata={})),
        event("customer.created", {"id": "cus_1", "object": "customer"}),
    ],
    ids=["paid", "unpaid", "failed", "not-ours", "unhandled"],
)
def test_the_live_path_normalizes_what_the_verifier_read_as_reprocessing_reads_the_record(
    doc: dict[str, Any],
) -> None:
    provider = StripeProvider()
    verifier = provider.verifier(StripeSettings(webhook_secrets=SecretStr("whsec_test")))
    body = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    now = RECEIVED_AT.timestamp()
    received = verifier.verify(
        body, {"stripe-signature": sign_stripe_payload(body, "whsec_test", int(now))}, now=now
    )
    assert isinstance(received.parsed, StripeEvent)
    raw = WebhookReceivedV1(
        provider="stripe",
        provider_event_id=received.event_id,
        provider_event_type=received.event_type,
        content_type=received.content_type,
        body=received.body,
        received_at=RECEIVED_AT,
    )
    assert provider.normalize_received(raw, received) == provider.normalize(raw)


# ---- absurd values (issue 10) -----------------------------------------------------------------
# An amount above MAX_AMOUNT_MINOR or a currency paystream does not know becomes no event, no
# exception (a 500 the provider would retry forever) and no dead letter, but an INVALID_METADATA
# outcome that needs an operator: the pipeline keeps the notification in webhooks.raw, answers
# success and logs it as an error.

TOO_MUCH = MAX_AMOUNT_MINOR + 1


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_total": TOO_MUCH},
        {"amount_total": 2**63 - 1},
        {"currency": "zzz"},
        {"currency": "usdx"},
    ],
)
def test_an_absurd_amount_or_currency_needs_an_operator(changes: dict[str, Any]) -> None:
    n = run(event("checkout.session.completed", session(**changes)))
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.needs_operator
    assert (n.events, n.payment) == ((), None)
    assert n.user_id == "user_7"  # still known, for the Kafka key of webhooks.raw


def test_a_payment_intent_with_an_absurd_amount_needs_an_operator() -> None:
    n = run(event("payment_intent.succeeded", payment_intent(amount_received=TOO_MUCH)))
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.needs_operator
    assert n.events == ()
