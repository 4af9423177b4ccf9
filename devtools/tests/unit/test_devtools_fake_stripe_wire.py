"""The fake Stripe's decoding of the form encoding stripe-python sends, and its test-card
table (no server)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from paystream.devtools.fakes.stripe import (
    TEST_CARDS,
    TEST_TOKENS,
    StripeError,
    card_brand,
    luhn_ok,
    parse_params,
)


def test_nested_params_as_stripe_python_encodes_them() -> None:
    # What stripe-python sends for nested hashes and lists (indexed brackets).
    body = (
        "amount=2500&metadata[order_id]=o-1&metadata[0]=numeric+key+stays+a+key"
        "&invoice_settings[default_payment_method]=pm_1"
        "&payment_method_types[0]=card&payment_method_types[1]=alipay"
        "&expand[0]=latest_charge&expand[1]=customer"
        "&line_items[0][price]=p_1&line_items[0][quantity]=2"
    )
    assert parse_params(parse_qsl(body, keep_blank_values=True)) == {
        "amount": "2500",
        "metadata": {"order_id": "o-1", "0": "numeric key stays a key"},
        "invoice_settings": {"default_payment_method": "pm_1"},
        "payment_method_types": ["card", "alipay"],
        "expand": ["latest_charge", "customer"],
        "line_items": [{"price": "p_1", "quantity": "2"}],
    }


def test_empty_brackets_append_and_blank_values_stay() -> None:
    pairs = parse_qsl("expand[]=a&expand[]=b&metadata[k]=&description=", keep_blank_values=True)
    assert parse_params(pairs) == {"expand": ["a", "b"], "metadata": {"k": ""}, "description": ""}


def test_a_value_and_a_hash_under_one_name_is_refused() -> None:
    with pytest.raises(StripeError) as refused:
        parse_params([("card", "x"), ("card[number]", "4242424242424242")])
    assert refused.value.status == 400


def test_every_test_card_is_a_valid_number_with_its_brand() -> None:
    for number in TEST_CARDS:
        assert luhn_ok(number), number
        assert card_brand(number) != "unknown", number
    assert set(TEST_TOKENS.values()) <= set(TEST_CARDS)
    assert card_brand("378282246310005") == "amex"
    assert card_brand("2223003122003222") == "mastercard"
    assert not luhn_ok("4242424242424241")
