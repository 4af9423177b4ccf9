"""Catalog parsing and validation: the packaged default, an override file, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from paystream.checkout.catalog.domain import CatalogError, parse_catalog
from paystream.checkout.catalog.service import load_catalog
from paystream.checkout.settings import CheckoutSettings
from paystream.shared.money import Money


def _doc(*packages: dict[str, Any]) -> str:
    return json.dumps({"packages": list(packages)})


def _pkg(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "standard",
        "name": "Standard",
        "credits": 1100,
        "price": {"value": "100.00", "currency": "CNY"},
    }
    base.update(over)
    return base


def test_default_catalog_has_four_packages_cny_first_and_every_sold_currency() -> None:
    catalog = load_catalog()
    assert [(p.id, p.credits, p.price) for p in catalog.packages] == [
        ("trial", 500, Money(5000, "CNY")),
        ("standard", 1100, Money(10000, "CNY")),
        ("value", 6000, Money(50000, "CNY")),
        ("premium", 13000, Money(100000, "CNY")),
    ]
    for p in catalog.packages:
        assert [m.currency for m in p.prices] == ["CNY", "USD", "EUR", "GBP", "MYR", "USDT"]
    standard = catalog.get("standard")
    assert standard is not None
    assert standard.price_in("usdt") == Money(14_000_000, "USDT")
    assert standard.price_in("JPY") is None
    assert catalog.get("nope") is None


def test_a_package_priced_in_several_currencies() -> None:
    raw = _doc(
        _pkg(
            price=None,
            prices=[{"value": "100.00", "currency": "CNY"}, {"value": "14.00", "currency": "USD"}],
        )
    )
    (p,) = parse_catalog(raw.replace('"price": null, ', "")).packages
    assert p.prices == (Money(10000, "CNY"), Money(1400, "USD"))
    assert p.price == Money(10000, "CNY")


def test_override_file_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(
        _doc(_pkg(id="yen", name="Yen pack", credits=10, price={"value": "980", "currency": "JPY"}))
    )
    monkeypatch.setenv("PAYSTREAM_CATALOG_FILE", str(path))
    catalog = load_catalog(CheckoutSettings().catalog_file)
    assert [(p.id, p.name, p.price) for p in catalog.packages] == [
        ("yen", "Yen pack", Money(980, "JPY"))
    ]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"cannot read catalog file .*absent\.json"):
        load_catalog(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "invalid catalog"),
        (json.dumps({"packages": []}), "no package"),
        (json.dumps({"items": []}), "packages: Field required"),
        (_doc(_pkg(price={"value": 100.0, "currency": "CNY"})), r"price\.value"),
        (_doc(_pkg(price={"value": "100.001", "currency": "CNY"})), "more than 2 decimals"),
        (_doc(_pkg(price={"value": "abc", "currency": "CNY"})), "not a decimal"),
        (_doc(_pkg(price={"value": "100.00", "currency": "XXX"})), "unsupported currency"),
        (_doc(_pkg(price={"value": "0.00", "currency": "CNY"})), "price must be positive"),
        (_doc(_pkg(price={"value": "-1.00", "currency": "CNY"})), "price must be positive"),
        (_doc(_pkg(credits=0)), "credits must be a positive integer"),
        (_doc(_pkg(credits="1100")), "credits"),
        (_doc(_pkg(credits=True)), "credits"),
        (_doc(_pkg(id="Has Space")), "id must match"),
        (_doc(_pkg(name="  ")), "name is empty"),
        (_doc(_pkg(), _pkg(name="Other")), "duplicate id"),
        (_doc(_pkg(colour="red")), "colour"),
        (_doc(_pkg(prices=[{"value": "1.00", "currency": "USD"}])), "exactly one of"),
        (_doc(_pkg(price=None, prices=[])), "no price"),
        (_doc(_pkg(unit="receives")), "unit 'receives' is not one of the catalog's units"),
        (_doc(_pkg(validity="6 months")), "validity: '6 months' is not an ISO 8601 duration"),
        (_doc(_pkg(validity="P0D")), "validity: 'P0D' is not a positive duration"),
        (_doc(_pkg(credits=2**53 + 1)), "credits must be a positive integer"),
        (json.dumps({"units": [{"id": "Big Units", "name": "x"}], "packages": [_pkg()]}), "units"),
        (
            json.dumps({"units": [{"id": "seats", "name": "seats"}] * 2, "packages": [_pkg()]}),
            "duplicate unit",
        ),
        (
            _doc(
                _pkg(
                    price=None,
                    prices=[
                        {"value": "1.00", "currency": "USD"},
                        {"value": "2.00", "currency": "USD"},
                    ],
                )
            ),
            "a second price in USD",
        ),
    ],
)
def test_invalid_catalogs_are_refused_with_the_reason(raw: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message) as info:
        parse_catalog(raw, "test.json")
    assert "test.json" in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    raw = _doc(_pkg(id="a", credits=-1), _pkg(id="b", price={"value": "1.234", "currency": "CNY"}))
    with pytest.raises(CatalogError) as info:
        parse_catalog(raw)
    assert "packages[0] ('a')" in str(info.value)
    assert "packages[1] ('b')" in str(info.value)


def test_credits_last_six_months_unless_the_package_says_otherwise() -> None:
    assert all(p.validity == "P6M" and p.unit == "credits" for p in load_catalog().packages)
    raw = json.dumps(
        {
            "units": [{"id": "receives", "name": "receives"}],
            "packages": [
                _pkg(id="forever", validity=None),
                _pkg(id="month", validity="P1M"),
                _pkg(id="receives-20", unit="receives", credits=20),
            ],
        }
    )
    catalog = parse_catalog(raw)
    assert [(p.id, p.unit, p.validity) for p in catalog.packages] == [
        ("forever", "credits", None),
        ("month", "credits", "P1M"),
        ("receives-20", "receives", "P6M"),
    ]
    assert [(u.id, u.name) for u in catalog.units] == [
        ("credits", "credits"),
        ("receives", "receives"),
    ]
