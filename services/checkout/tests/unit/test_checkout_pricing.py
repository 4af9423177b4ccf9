"""Unit products: volume tier prices (the product brief's four prices exactly), custom amounts
and their rounding, the refusals, and the catalog's checks of a product's configuration."""

from __future__ import annotations

import json
from typing import Any

import pytest

from paystream.checkout.catalog.domain import CatalogError, parse_catalog
from paystream.checkout.catalog.service import load_catalog
from paystream.checkout.pricing.domain import (
    CustomAmount,
    PricingError,
    ProductPrice,
    Rate,
    Tier,
    UnitProduct,
    check_product,
    price_amount,
    price_quantity,
    rates_from_tiers,
)
from paystream.shared.money import Money


def cny(value: str) -> Money:
    return Money.parse(value, "CNY")


def receives() -> UnitProduct:
    product = load_catalog().product("receives")
    assert product is not None
    return product


@pytest.mark.parametrize(
    ("quantity", "total"),
    [(1, "2.00"), (5, "9.00"), (10, "17.00"), (20, "32.00")],
)
def test_the_brief_s_four_prices_come_out_exactly(quantity: int, total: str) -> None:
    priced = price_quantity(receives(), quantity, "CNY")
    assert priced.amount == cny(total)
    assert priced.units == quantity


@pytest.mark.parametrize(
    ("quantity", "unit", "total", "rule"),
    [
        (4, "2.00", "8.00", "tier 1-4 at 2.00"),
        (9, "1.80", "16.20", "tier 5-9 at 1.80"),
        (19, "1.70", "32.30", "tier 10-19 at 1.70"),
        (21, "1.60", "33.60", "tier 20-100 at 1.60"),
        (100, "1.60", "160.00", "tier 20-100 at 1.60"),
    ],
)
def test_the_tier_a_quantity_reaches_prices_every_unit(
    quantity: int, unit: str, total: str, rule: str
) -> None:
    priced = price_quantity(receives(), quantity, "cny")
    assert priced.unit_amount == cny(unit)
    assert priced.amount == cny(total)
    assert priced.rule == rule


def test_the_volume_cliff_nineteen_cost_more_than_twenty() -> None:
    # Volume tiers price the whole quantity at the tier it reaches: documented in the README.
    assert (
        price_quantity(receives(), 19, "CNY").amount > price_quantity(receives(), 20, "CNY").amount
    )


@pytest.mark.parametrize("quantity", [0, -1, 101, 10**6])
def test_quantities_outside_1_to_100_are_refused(quantity: int) -> None:
    with pytest.raises(PricingError) as err:
        price_quantity(receives(), quantity, "CNY")
    assert err.value.code == "quantity_out_of_range"


def test_a_currency_without_a_price_is_refused() -> None:
    with pytest.raises(PricingError) as err:
        price_quantity(receives(), 5, "EUR")
    assert err.value.code == "currency_not_offered"


def test_other_currencies_price_in_their_own_minor_units() -> None:
    assert price_quantity(receives(), 20, "USDT").amount == Money(4_600_000, "USDT")
    assert price_quantity(receives(), 20, "USD").amount == Money(460, "USD")


@pytest.mark.parametrize(
    ("amount", "units"),
    [
        ("2.00", 1),  # the lowest rate: 2.00 each
        ("8.00", 4),
        ("9.00", 5),  # reaches 5 x 1.80: 1.80 each
        ("10.00", 5),  # 10 / 1.80 = 5.55..., never rounded up
        ("16.00", 8),  # 16 / 1.80 = 8.88...
        ("17.00", 10),  # reaches 10 x 1.70
        ("31.00", 18),  # 31 / 1.70 = 18.23...
        ("32.00", 20),  # reaches 20 x 1.60
        ("35.00", 21),  # 35 / 1.60 = 21.875
        ("160.00", 100),
    ],
)
def test_a_custom_amount_buys_floor_amount_over_the_rate_it_reaches(
    amount: str, units: int
) -> None:
    priced = price_amount(receives(), cny(amount))
    assert priced.units == units
    assert priced.amount == cny(amount)
    assert priced.unit_amount is None


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1.00", "amount_out_of_range"),
        ("161.00", "amount_out_of_range"),
        ("10.50", "amount_off_step"),
        ("2.01", "amount_off_step"),
    ],
)
def test_custom_amounts_outside_the_bounds_or_off_the_step_are_refused(
    amount: str, code: str
) -> None:
    with pytest.raises(PricingError) as err:
        price_amount(receives(), cny(amount))
    assert err.value.code == code


def test_a_currency_without_custom_amounts_refuses_them() -> None:
    with pytest.raises(PricingError) as err:
        price_amount(receives(), Money.parse("5.00", "USD"))
    assert err.value.code == "custom_amount_not_offered"


def test_configured_rates_for_credits_match_the_packages() -> None:
    credits = load_catalog().product("credits")
    assert credits is not None
    assert price_amount(credits, cny("100.00")).units == 1100
    assert price_amount(credits, cny("500.00")).units == 6000
    assert price_amount(credits, cny("1000.00")).units == 13000
    assert price_amount(credits, cny("150.00")).units == 1650
    assert price_amount(credits, cny("99.00")).units == 990
    # 7.00 USD buys 500 credits: 5.00 buys floor(5 x 500 / 7) = 357, not 357.14 rounded.
    assert price_amount(credits, Money.parse("5.00", "USD")).units == 357
    with pytest.raises(PricingError) as err:
        price_quantity(credits, 5, "CNY")
    assert err.value.code == "quantity_not_offered"


def test_rate_arithmetic_is_integer_floor_division() -> None:
    rate = Rate(threshold=cny("0.01"), units=3, per=cny("1.00"))  # 0.333... each
    assert rate.units_for(cny("1.00")) == 3
    assert rate.units_for(cny("0.99")) == 2  # 2.97
    assert rate.units_for(cny("0.34")) == 1  # 1.02


def test_tiers_become_rates_from_the_price_of_their_first_quantity() -> None:
    tiers = (Tier(4, cny("2.00")), Tier(None, cny("1.50")))
    assert rates_from_tiers(tiers, 1) == (
        Rate(cny("2.00"), 1, cny("2.00")),
        Rate(cny("7.50"), 1, cny("1.50")),
    )


def _product(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "receives",
        "name": "Receives",
        "unit": "receives",
        "validity": None,
        "prices": [
            {
                "currency": "CNY",
                "tiers": [
                    {"up_to": 4, "unit_amount": "2.00"},
                    {"up_to": 100, "unit_amount": "1.60"},
                ],
            }
        ],
    }
    base.update(over)
    return base


def _doc(**product: Any) -> str:
    return json.dumps(
        {
            "units": [{"id": "receives", "name": "receives"}],
            "packages": [
                {
                    "id": "p",
                    "name": "P",
                    "credits": 1,
                    "price": {"value": "1.00", "currency": "CNY"},
                }
            ],
            "products": [_product(**product)],
        }
    )


def test_a_valid_product_parses() -> None:
    (p,) = parse_catalog(_doc()).products
    assert p.min_quantity == 1
    assert p.max_quantity == 100
    assert p.prices[0].tiers == (Tier(4, cny("2.00")), Tier(100, cny("1.60")))


@pytest.mark.parametrize(
    ("over", "problem"),
    [
        ({"unit": "nope"}, "not one of the catalog's units"),
        ({"id": "Bad Id"}, "id must match"),
        ({"validity": "soon"}, "validity"),
        ({"min_quantity": 0}, "quantities must be"),
        ({"prices": []}, "no price in any currency"),
        ({"prices": [{"currency": "CNY"}]}, "give tiers, a custom_amount, or both"),
        (
            {"prices": [{"currency": "CNY", "tiers": [{"up_to": 4, "unit_amount": "2.001"}]}]},
            "more than 2 decimals",
        ),
        (
            {"prices": [{"currency": "CNY", "tiers": [{"up_to": 50, "unit_amount": "2.00"}]}]},
            "below max_quantity",
        ),
        (
            {
                "prices": [
                    {
                        "currency": "CNY",
                        "tiers": [
                            {"up_to": 9, "unit_amount": "2.00"},
                            {"up_to": 5, "unit_amount": "1.00"},
                            {"up_to": 100, "unit_amount": "1.00"},
                        ],
                    }
                ]
            },
            "up_to must be above 9",
        ),
        (
            {
                "prices": [
                    {
                        "currency": "CNY",
                        "custom_amount": {"min": "1.00", "max": "10.00", "step": "3.00"},
                    }
                ]
            },
            "no rates",
        ),
        (
            {
                "prices": [
                    {
                        "currency": "CNY",
                        "tiers": [{"up_to": 100, "unit_amount": "1.00"}],
                        "custom_amount": {"min": "1.00", "max": "500.00", "step": "1.00"},
                    }
                ]
            },
            "above max_quantity",
        ),
        (
            {
                "prices": [
                    {
                        "currency": "CNY",
                        "custom_amount": {
                            "min": "0.50",
                            "max": "10.50",
                            "step": "1.00",
                            "rates": [{"from": "0.50", "units": 1, "per": "1.00"}],
                        },
                    }
                ]
            },
            "buys no receives",
        ),
    ],
)
def test_a_bad_product_stops_checkout_with_the_reason(over: dict[str, Any], problem: str) -> None:
    with pytest.raises(CatalogError, match=problem):
        parse_catalog(_doc(**over))


def test_check_product_accepts_the_default_receives() -> None:
    assert check_product(receives()) == []
    assert receives().price_in("CNY") == ProductPrice(
        "CNY",
        receives().prices[0].tiers,
        CustomAmount(
            cny("2.00"), cny("160.00"), cny("1.00"), rates_from_tiers(receives().prices[0].tiers, 1)
        ),
    )
