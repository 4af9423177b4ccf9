"""What checkout asks Stripe for: session and PaymentIntent parameters, the methods per currency,
the confirmation parameters (the payment_method_data pitfall), refunds, and closing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from paystream.checkout.providers import (
    PaymentRequest,
    ProviderError,
    Recurring,
    RefundRequest,
    RefundStatus,
)
from paystream.checkout.providers.stripe import (
    PAYMENT_INTENT_METHODS,
    STRIPE_CURRENCIES,
    RefundTarget,
    closed_already,
    confirm_params,
    invoice_params,
    methods_for,
    payment_intent_idempotency_key,
    payment_intent_params,
    payment_method_types,
    refund_idempotency_key,
    refund_params,
    refund_status,
    refund_target,
    session_idempotency_key,
    session_params,
    with_query,
)
from paystream.shared.money import CURRENCY_EXPONENTS, Money

ORDER_ID = "8d3c1e9e-4a59-4f0e-8f52-0d7e5b0c1a11"
FACTS = {"order_id": ORDER_ID, "user_id": "user-1", "credits": "1100", "package_id": "standard"}


def _req(**over: Any) -> PaymentRequest:
    base: dict[str, Any] = {
        "order_id": ORDER_ID,
        "user_id": "user-1",
        "package_id": "standard",
        "package_name": "Standard",
        "credits": 1100,
        "amount": Money(10000, "CNY"),
        "payment_method": "stripe_checkout",
        "return_url": "https://shop.example/return?src=app",
        "expires_at": datetime(2030, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC),
    }
    base.update(over)
    return PaymentRequest(**base)


# --- Checkout Sessions (moved from stripe_gateway) ------------------------------------------


def test_session_params_carry_the_order_facts_twice() -> None:
    params = session_params(_req())
    assert params["mode"] == "payment"
    assert params["client_reference_id"] == ORDER_ID
    assert params["metadata"] == FACTS
    assert params["payment_intent_data"] == {"metadata": FACTS}
    assert params["line_items"] == [
        {
            "quantity": 1,
            "price_data": {
                "currency": "cny",
                "unit_amount": 10000,
                "product_data": {"name": "Standard"},
            },
        }
    ]
    # Rounded up to a whole second: never shorter than the TTL Stripe was promised.
    assert params["expires_at"] == int(datetime(2030, 1, 1, 12, 0, 1, tzinfo=UTC).timestamp())


def test_session_urls_come_back_to_the_return_url() -> None:
    params = session_params(_req())
    success = urlsplit(params["success_url"])
    cancel = urlsplit(params["cancel_url"])
    assert (success.scheme, success.netloc, success.path) == ("https", "shop.example", "/return")
    assert parse_qs(success.query) == {
        "src": ["app"],
        "order_id": [ORDER_ID],
        "checkout": ["success"],
    }
    assert parse_qs(cancel.query)["checkout"] == ["cancelled"]


def test_zero_decimal_currency_is_sent_in_its_minor_units() -> None:
    params = session_params(_req(amount=Money(980, "JPY")))
    price = params["line_items"][0]["price_data"]
    assert (price["currency"], price["unit_amount"]) == ("jpy", 980)


def test_session_idempotency_key_is_per_order_and_attempt() -> None:
    a = _req()
    assert session_idempotency_key(a) == session_idempotency_key(_req())
    assert session_idempotency_key(a) != session_idempotency_key(_req(order_id=str(uuid.uuid4())))
    later = _req(expires_at=a.expires_at + timedelta(seconds=5))
    assert session_idempotency_key(a) != session_idempotency_key(later)


def test_with_query_keeps_existing_parameters() -> None:
    assert with_query("http://h/p", a="1") == "http://h/p?a=1"
    assert with_query("http://h/p?z=&y=2#frag", a="1") == "http://h/p?z=&y=2&a=1#frag"


# --- methods by currency --------------------------------------------------------------------


def test_the_payment_intent_methods_table_is_the_product_brief() -> None:
    assert dict(PAYMENT_INTENT_METHODS) == {
        "MYR": ("card", "fpx", "grabpay", "alipay"),
        "USD": ("card", "us_bank_account", "alipay"),
        "EUR": ("card", "sepa_debit", "ideal"),
        "GBP": ("card", "bacs_debit"),
        "CNY": ("card", "alipay", "wechat_pay"),
    }


def test_stripe_currencies_are_currencies_paystream_knows_and_never_usdt() -> None:
    assert STRIPE_CURRENCIES.issubset(CURRENCY_EXPONENTS)
    assert "USDT" not in STRIPE_CURRENCIES
    assert set(PAYMENT_INTENT_METHODS) <= STRIPE_CURRENCIES


@pytest.mark.parametrize(
    ("currency", "methods"),
    [
        ("CNY", ("stripe_checkout", "stripe_payment_intent")),
        ("myr", ("stripe_checkout", "stripe_payment_intent")),
        ("GBP", ("stripe_checkout", "stripe_payment_intent")),
        ("JPY", ("stripe_checkout",)),
        ("SGD", ("stripe_checkout",)),
        ("USDT", ()),
        ("XXX", ()),
    ],
)
def test_methods_for_currency(currency: str, methods: tuple[str, ...]) -> None:
    assert methods_for(currency) == methods


def test_payment_method_types_by_currency() -> None:
    assert payment_method_types("eur") == ("card", "sepa_debit", "ideal")
    assert payment_method_types("JPY") == ()


# --- PaymentIntents -------------------------------------------------------------------------


@pytest.mark.parametrize("currency", sorted(PAYMENT_INTENT_METHODS))
def test_payment_intent_params_per_currency(currency: str) -> None:
    req = _req(amount=Money(2500, currency), payment_method="stripe_payment_intent")
    params = payment_intent_params(req)
    assert params["amount"] == 2500
    assert params["currency"] == currency.lower()
    assert params["allowed_payment_method_types"] == list(PAYMENT_INTENT_METHODS[currency])
    assert params["metadata"] == FACTS
    assert params["description"] == "Standard"
    assert "automatic_payment_methods" not in params
    if "wechat_pay" in PAYMENT_INTENT_METHODS[currency]:
        assert params["payment_method_options"] == {"wechat_pay": {"client": "web"}}
    else:
        assert "payment_method_options" not in params


def test_payment_intent_in_a_currency_without_methods_is_refused() -> None:
    with pytest.raises(ProviderError, match="JPY"):
        payment_intent_params(_req(amount=Money(980, "JPY")))


def test_payment_intent_idempotency_key_differs_from_the_session_key() -> None:
    req = _req(payment_method="stripe_payment_intent")
    assert payment_intent_idempotency_key(req) == payment_intent_idempotency_key(_req())
    assert payment_intent_idempotency_key(req) != session_idempotency_key(req)
    later = _req(expires_at=req.expires_at + timedelta(minutes=30))
    assert payment_intent_idempotency_key(req) != payment_intent_idempotency_key(later)


# --- confirming (the pitfall) ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["alipay", "grabpay"])
def test_alipay_and_grabpay_are_confirmed_with_payment_method_data(method: str) -> None:
    params = confirm_params(method, "https://shop.example/r")
    # Never `payment_method: "alipay"`: Stripe reads that as a PaymentMethod id and refuses it.
    assert "payment_method" not in params
    assert params["payment_method_data"] == {"type": method}
    assert params["return_url"] == "https://shop.example/r"


def test_wechat_pay_confirmation_names_its_client() -> None:
    params = confirm_params("wechat_pay", "https://shop.example/r")
    assert params["payment_method_data"] == {"type": "wechat_pay"}
    assert params["payment_method_options"] == {"wechat_pay": {"client": "web"}}


def test_card_is_confirmed_with_a_test_payment_method_id() -> None:
    assert confirm_params("card", "https://r/")["payment_method"] == "pm_card_visa"


@pytest.mark.parametrize("method", ["sepa_debit", "us_bank_account", "bacs_debit"])
def test_debits_carry_bank_details_and_an_online_mandate(method: str) -> None:
    params = confirm_params(method, "https://r/", ip_address="10.0.0.1", user_agent="ua")
    data = params["payment_method_data"]
    assert data["type"] == method
    assert method in data
    assert "name" in data["billing_details"]
    assert params["mandate_data"] == {
        "customer_acceptance": {
            "type": "online",
            "online": {"ip_address": "10.0.0.1", "user_agent": "ua"},
        }
    }


def test_every_method_in_the_table_can_be_confirmed() -> None:
    for types in PAYMENT_INTENT_METHODS.values():
        for method in types:
            assert confirm_params(method, "https://r/")


def test_unknown_method_cannot_be_confirmed() -> None:
    with pytest.raises(ValueError, match="klarna"):
        confirm_params("klarna", "https://r/")


# --- refunds --------------------------------------------------------------------------------


def _refund(**over: Any) -> RefundRequest:
    base: dict[str, Any] = {
        "refund_id": "0b7c6a52-0000-4000-8000-000000000001",
        "order_id": ORDER_ID,
        "user_id": "user-1",
        "amount": Money(4000, "CNY"),
        "payment_amount": Money(10000, "CNY"),
        "payment_method": "stripe_checkout",
        "provider_payment_id": "pi_3SGyWzB7WZ01zgkW0x",
        "provider_session_id": "cs_test_a1b2c3",
        "reason": "customer asked",
    }
    base.update(over)
    return RefundRequest(**base)


def test_refund_targets_the_payment_intent() -> None:
    assert refund_target(_refund()) == RefundTarget("payment_intent", "pi_3SGyWzB7WZ01zgkW0x")
    # A stripe_payment_intent order's session is its PaymentIntent.
    pi_order = _refund(provider_payment_id=None, provider_session_id="pi_abc")
    assert refund_target(pi_order) == RefundTarget("payment_intent", "pi_abc")
    assert refund_target(_refund(provider_payment_id="ch_1")) == RefundTarget("charge", "ch_1")
    # Only a Checkout Session known: the provider looks its PaymentIntent up.
    assert refund_target(_refund(provider_payment_id=None)) is None


def test_refund_params_carry_our_facts_and_the_partial_amount() -> None:
    req = _refund()
    params = refund_params(req, RefundTarget("payment_intent", "pi_x"))
    assert params == {
        "payment_intent": "pi_x",
        "amount": 4000,
        "metadata": {
            "order_id": ORDER_ID,
            "user_id": "user-1",
            "refund_id": req.refund_id,
            "reason": "customer asked",
        },
    }


def test_refund_against_a_charge_with_a_stripe_reason() -> None:
    params = refund_params(_refund(reason="requested_by_customer"), RefundTarget("charge", "ch_1"))
    assert params["charge"] == "ch_1"
    assert "payment_intent" not in params
    assert params["reason"] == "requested_by_customer"


def test_long_reasons_are_cut_to_stripes_metadata_limit() -> None:
    params = refund_params(_refund(reason="x" * 900), RefundTarget("charge", "ch_1"))
    metadata = params["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["reason"] == "x" * 500


def test_refund_in_another_currency_is_refused() -> None:
    with pytest.raises(ProviderError):
        refund_params(_refund(amount=Money(100, "USD")), RefundTarget("charge", "ch_1"))


def test_refund_idempotency_key_is_our_refund_id() -> None:
    assert refund_idempotency_key(_refund()) == refund_idempotency_key(_refund(reason="other"))
    assert refund_idempotency_key(_refund()) != refund_idempotency_key(
        _refund(refund_id=str(uuid.uuid4()))
    )


@pytest.mark.parametrize(
    ("stripe_status", "ours"),
    [
        ("succeeded", RefundStatus.SUCCEEDED),
        ("pending", RefundStatus.PENDING),
        ("requires_action", RefundStatus.PENDING),
        ("failed", RefundStatus.FAILED),
        ("canceled", RefundStatus.FAILED),
        (None, RefundStatus.PENDING),
    ],
)
def test_refund_status(stripe_status: str | None, ours: RefundStatus) -> None:
    assert refund_status(stripe_status) is ours


# --- closing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "closed"),
    [
        ("checkout_session", "expired", True),
        ("checkout_session", "complete", True),
        ("checkout_session", "open", False),
        ("payment_intent", "canceled", True),
        ("payment_intent", "succeeded", True),
        ("payment_intent", "processing", False),
        ("payment_intent", "requires_payment_method", False),
    ],
)
def test_what_counts_as_already_closed(kind: Any, status: str, closed: bool) -> None:
    assert closed_already(kind, status) is closed


# --- Stripe Subscriptions ----------------------------------------------------------------------


def _recurring(**over: Any) -> Recurring:
    base: dict[str, Any] = {
        "interval": "month",
        "next_period_at": datetime(2030, 2, 1, 12, 0, 0, 250_000, tzinfo=UTC),
        "metadata": (("paystream_subscription_id", "sub-1"), ("user_id", "user-1")),
    }
    base.update(over)
    return Recurring(**base)


def test_an_order_opening_a_plan_makes_a_subscription_mode_session() -> None:
    params = session_params(_req(package_id="pro", package_name="Pro plan", recurring=_recurring()))
    assert params["mode"] == "subscription"
    assert "payment_intent_data" not in params  # Stripe refuses it in subscription mode
    (line,) = params["line_items"]
    assert line["price_data"]["recurring"] == {"interval": "month"}
    assert line["price_data"]["unit_amount"] == 10000
    assert params["metadata"]["order_id"] == ORDER_ID  # the first payment names its order
    assert params["subscription_data"] == {
        "metadata": {"paystream_subscription_id": "sub-1", "user_id": "user-1"},
        # paystream's second period starts then, Stripe's too; no proration of the first.
        "billing_cycle_anchor": int(datetime(2030, 2, 1, 12, 0, 1, tzinfo=UTC).timestamp()),
        "proration_behavior": "none",
    }


def test_a_one_off_session_is_unchanged_by_plans() -> None:
    params = session_params(_req())
    assert params["mode"] == "payment"
    assert "subscription_data" not in params
    assert "recurring" not in params["line_items"][0]["price_data"]


def test_an_upgrade_is_charged_on_an_invoice_naming_its_order() -> None:
    req = _req(
        payment_method="stripe_invoice",
        package_name="Upgrade to VIP",
        recurring=_recurring(customer_id="cus_1", subscription_id="sub_1"),
    )
    assert invoice_params(req, "cus_1") == {
        "customer": "cus_1",
        "collection_method": "charge_automatically",
        "auto_advance": False,
        "pending_invoice_items_behavior": "exclude",
        "description": "Upgrade to VIP",
        "metadata": FACTS,
    }
