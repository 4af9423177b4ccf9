"""The catalog of credit packages: parsed and validated once, immutable.

The document (see `service.load_catalog` for where it comes from) looks like:

    {"packages": [{"id": "standard", "name": "Standard", "credits": 1100,
                   "prices": [{"value": "100.00", "currency": "CNY"},
                              {"value": "14.00", "currency": "USD"}]}]}

A package is priced in one or more currencies (one price per currency; `"price": {...}` is
accepted for a single one). The first price is the package's default currency.

Prices are decimal strings, never JSON numbers: a number would pass through a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from paystream.shared.money import CurrencyError, Money

_PACKAGE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class CatalogError(ValueError):
    """The catalog file is missing or invalid; checkout refuses to start with it."""


@dataclass(frozen=True, slots=True)
class Package:
    id: str
    name: str
    credits: int
    prices: tuple[Money, ...]

    @property
    def price(self) -> Money:
        """The default price (the first listed)."""
        return self.prices[0]

    def price_in(self, currency: str) -> Money | None:
        return next((p for p in self.prices if p.currency == currency.upper()), None)


@dataclass(frozen=True, slots=True)
class Catalog:
    packages: tuple[Package, ...]

    def get(self, package_id: str) -> Package | None:
        return next((p for p in self.packages if p.id == package_id), None)


class _PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: StrictStr
    currency: StrictStr


class _PackageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    name: StrictStr
    credits: StrictInt
    price: _PriceIn | None = None
    prices: list[_PriceIn] | None = None


class _CatalogIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    packages: list[_PackageIn]


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
        if p.credits <= 0:
            problems.append(f"{where}: credits must be a positive integer, got {p.credits}")
        if (p.price is None) == (p.prices is None):
            problems.append(f"{where}: give exactly one of `price` or `prices`")
            continue
        prices = _prices(where, [p.price] if p.price is not None else p.prices or [], problems)
        if prices:
            packages.append(Package(id=p.id, name=p.name.strip(), credits=p.credits, prices=prices))
    if problems:
        raise CatalogError(f"invalid catalog {source}: " + "; ".join(problems))
    return Catalog(tuple(packages))


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
