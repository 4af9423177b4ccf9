"""Stripe's notifications about a customer's saved payment methods, normalized: only display
fields travel, a detached method keeps its customer (from previous_attributes), and the same
notification always becomes the same event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.providers.stripe.normalize import normalize, parse_event
from paystream.shared.events import PaymentMethodChangedV1, deterministic_id

RECEIVED_AT = datetime(2026, 3, 1, tzinfo=UTC)
CARD_PM: dict[str, Any] = {
    "id": "pm_1",
    "object": "payment_method",
    "type": "card",
    "customer": "cus_1",
    "card": {
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2034,
        "fingerprint": "never-kept",
        "country": "US",
    },
}


def event(kind: str, obj: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {
        "id": f"evt_{kind}",
        "object": "event",
        "type": kind,
        "created": 1_775_000_000,
        "data": {"object": obj, **data},
    }


def run(doc: dict[str, Any]) -> Normalized:
    return normalize(parse_event(orjson.dumps(doc)), received_at=RECEIVED_AT)


def only(n: Normalized) -> PaymentMethodChangedV1:
    assert n.outcome is Outcome.PAYMENT_METHOD_CHANGED
    (out,) = n.events
    assert isinstance(out.data, PaymentMethodChangedV1)
    return out.data


def test_attached_carries_display_fields_only() -> None:
    n = run(event("payment_method.attached", CARD_PM))
    data = only(n)
    assert (data.change, data.customer_id, data.payment_method_id) == ("attached", "cus_1", "pm_1")
    assert (data.brand, data.last4, data.exp_month, data.exp_year) == ("visa", "4242", 12, 2034)
    assert "fingerprint" not in orjson.dumps(data.model_dump(mode="json")).decode()
    assert n.events[0].id == deterministic_id(
        "stripe", "evt_payment_method.attached", "payment_method"
    )
    assert n.keyed()[0][0] == "cus_1"


def test_detached_names_the_customer_it_had() -> None:
    detached = {**CARD_PM, "customer": None}
    data = only(
        run(event("payment_method.detached", detached, previous_attributes={"customer": "cus_1"}))
    )
    assert (data.change, data.customer_id, data.payment_method_id) == ("detached", "cus_1", "pm_1")


def test_customer_updated_names_the_default() -> None:
    customer = {
        "id": "cus_1",
        "object": "customer",
        "invoice_settings": {"default_payment_method": "pm_2"},
    }
    data = only(run(event("customer.updated", customer)))
    assert (data.change, data.customer_id, data.payment_method_id) == (
        "default_changed",
        "cus_1",
        "pm_2",
    )


def test_customer_updated_without_a_default_is_ignored() -> None:
    customer = {"id": "cus_1", "object": "customer", "invoice_settings": {}}
    n = run(event("customer.updated", customer))
    assert n.outcome is Outcome.UNHANDLED_TYPE
    assert not n.events


def test_setup_succeeded_names_the_method() -> None:
    seti = {"id": "seti_1", "object": "setup_intent", "customer": "cus_1", "payment_method": "pm_3"}
    data = only(run(event("setup_intent.succeeded", seti)))
    assert (data.change, data.customer_id, data.payment_method_id) == (
        "setup_succeeded",
        "cus_1",
        "pm_3",
    )


def test_a_method_without_an_id_is_reported() -> None:
    n = run(event("payment_method.attached", {"object": "payment_method", "customer": "cus_1"}))
    assert n.outcome is Outcome.INVALID_METADATA
    assert not n.events
