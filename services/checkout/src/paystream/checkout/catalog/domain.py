"""The catalog of credit packages: parsed and validated once, immutable.

The document (see `service.load_catalog` for where it comes from) looks like:

    {"units": [{"id": "receives", "name": "receives"}],
     "packages": [{"id": "standard", "name": "Standard", "credits": 1100,
                   "unit": "credits", "validity": "P6M",
                   "prices": [{"value": "100.00", "currency": "CNY"},
                              {"value": "14.00", "currency": "USD"}]}]}

A package grants `credits` of its `unit` (`credits` unless it names one of the catalog's
`units`), as one lot that lasts `validity` (an ISO 8601 duration from the payment; six months
when not given, the product brief's rule; `null` for credits that never expire). It is priced in
one or more currencies (one price per currency; `"price": {...}` is accepted for a single one).
The first price is the package's default currency.

`products` are sold by quantity at tier prices or for a custom amount (`pricing.catalog`), and
`plans` by subscription (`plans.catalog`). Packages, products and plans share one id space.

Prices are decimal strings, never JSON numbers: a number would pass through a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from paystream.checkout.plans.catalog import PlanIn, parse_plans
from paystream.checkout.plans.domain import Plan
from paystream.checkout.pricing.catalog import ProductIn, parse_products
from paystream.checkout.pricing.domain import UnitProduct
from paystream.shared.clock import InvalidDuration, parse_duration
from paystream.shared.events import DEFAULT_UNIT, MAX_CREDITS, UNIT_PATTERN
from paystream.shared.money import CurrencyError, Money

_PACKAGE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_UNIT = re.compile(UNIT_PATTERN)
# What a package's credits last when the catalog does not say (the product brief's rule).
DEFAULT_VALIDITY = "P6M"


class CatalogError(ValueError):
    """The catalog file is missing or invalid; checkout refuses to start with it."""


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Package:
    id: str
    name: str
    credits: int
    prices: tuple[Money, ...]
    unit: str = DEFAULT_UNIT
    # ISO 8601 duration the granted lot lasts from the payment; None: it never expires.
    validity: str | None = DEFAULT_VALIDITY

    @property
    def price(self) -> Money:
        """The default price (the first listed)."""
        return self.prices[0]

    def price_in(self, currency: str) -> Money | None:
        return next((p for p in self.prices if p.currency == currency.upper()), None)


@dataclass(frozen=True, slots=True)
class Catalog:
    packages: tuple[Package, ...]
    units: tuple[Unit, ...] = (Unit(DEFAULT_UNIT, "credits"),)
    # Unit products (quantities at tier prices, custom amounts) and plans: see `pricing` and
    # `plans`.
    products: tuple[UnitProduct, ...] = ()
    plans: tuple[Plan, ...] = ()

    def get(self, package_id: str) -> Package | None:
        return next((p for p in self.packages if p.id == package_id), None)

    def product(self, product_id: str) -> UnitProduct | None:
        return next((p for p in self.products if p.id == product_id), None)

    def plan(self, plan_id: str) -> Plan | None:
        return next((p for p in self.plans if p.id == plan_id), None)

    @property
    def default_plan(self) -> Plan | None:
        """Every user's plan until they choose another (the free one), if plans are sold."""
        return next((p for p in self.plans if p.is_free), None)


class _PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: StrictStr
    currency: StrictStr


class _UnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    name: StrictStr


class _PackageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    name: StrictStr
    credits: StrictInt
    unit: StrictStr = DEFAULT_UNIT
    # Absent: the default validity; an explicit null: credits that never expire.
    validity: StrictStr | None = DEFAULT_VALIDITY
    price: _PriceIn | None = None
    prices: list[_PriceIn] | None = None


class _CatalogIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: list[_UnitIn] = []
    packages: list[_PackageIn]
    products: list[ProductIn] = []
    plans: list[PlanIn] = []


def parse_catalog(raw: str | bytes, source: str = "<catalog>") -> Catalog:
    """Parse and validate a catalog document; CatalogError names the source and every problem."""
    try:
        doc = _CatalogIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise CatalogError(f"invalid catalog {source}: {errors}") from None

    problems: list[str] = []
    units = _units(doc.units, problems)
    packages: list[Package] = []
    seen: set[str] = set()
    if not doc.packages:
        problems.append("packages: the catalog has no package")
    for i, p in enumerate(doc.packages):
        where = f"packages[{i}] ({p.id!r})"
        if not _PACKAGE_ID.match(p.id):
            problems.append(f"{where}: id must match {_PACKAGE_ID.pattern}")
        if p.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(p.id)
        if not p.name.strip():
            problems.append(f"{where}: name is empty")
        if not 0 < p.credits <= MAX_CREDITS:
            problems.append(f"{where}: credits must be a positive integer, got {p.credits}")
        if p.unit not in {u.id for u in units}:
            known = ", ".join(u.id for u in units)
            problems.append(f"{where}: unit {p.unit!r} is not one of the catalog's units ({known})")
        if p.validity is not None:
            try:
                parse_duration(p.validity)
            except InvalidDuration as exc:
                problems.append(f"{where}: validity: {exc}")
        if (p.price is None) == (p.prices is None):
            problems.append(f"{where}: give exactly one of `price` or `prices`")
            continue
        prices = _prices(where, [p.price] if p.price is not None else p.prices or [], problems)
        if prices:
            packages.append(
                Package(
                    id=p.id,
                    name=p.name.strip(),
                    credits=p.credits,
                    prices=prices,
                    unit=p.unit,
                    validity=p.validity,
                )
            )
    unit_ids = {u.id for u in units}
    products = parse_products(doc.products, unit_ids, problems)
    plans = parse_plans(doc.plans, unit_ids, problems)
    # An order names what it sells by id alone (`package_id`): one namespace for all three.
    ids = [*(p.id for p in packages), *(p.id for p in products), *(p.id for p in plans)]
    if clashes := sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"ids shared by packages, products and plans: {', '.join(clashes)}")
    if problems:
        raise CatalogError(f"invalid catalog {source}: " + "; ".join(problems))
    return Catalog(tuple(packages), units, tuple(products), tuple(plans))


def _units(raw: list[_UnitIn], problems: list[str]) -> tuple[Unit, ...]:
    """The catalog's units: `credits` always, and those it defines."""
    units = [Unit(DEFAULT_UNIT, "credits")]
    for i, u in enumerate(raw):
        where = f"units[{i}] ({u.id!r})"
        if not _UNIT.match(u.id):
            problems.append(f"{where}: id must match {UNIT_PATTERN}")
        elif any(known.id == u.id for known in units):
            if u.id != DEFAULT_UNIT:
                problems.append(f"{where}: duplicate unit")
            continue
        if not u.name.strip():
            problems.append(f"{where}: name is empty")
        units.append(Unit(u.id, u.name.strip()))
    return tuple(units)


def _prices(where: str, raw: list[_PriceIn], problems: list[str]) -> tuple[Money, ...]:
    prices: list[Money] = []
    if not raw:
        problems.append(f"{where}: prices: no price")
    for j, pr in enumerate(raw):
        try:
            price = Money.parse(pr.value, pr.currency)
        except (CurrencyError, ValueError) as exc:
            problems.append(f"{where}: prices[{j}]: {exc}")
            continue
        if not price.is_positive():
            problems.append(f"{where}: prices[{j}]: price must be positive, got {price}")
            continue
        if any(q.currency == price.currency for q in prices):
            problems.append(f"{where}: prices[{j}]: a second price in {price.currency}")
            continue
        prices.append(price)
    return tuple(prices) if len(prices) == len(raw) else ()
