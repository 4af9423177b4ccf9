"""A quote: the price checkout promises for a purchase, what the order will grant and the lines
its invoice will show. Pure. A quote travels as a signed token (`signing`); an order presenting
it charges exactly its amount.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, cast

from paystream.checkout.catalog.domain import Catalog, Package
from paystream.checkout.orders.domain import OrderFacts, describe, package_facts
from paystream.checkout.pricing.domain import Priced, UnitProduct
from paystream.shared.events import GrantSpec, InvoiceLine
from paystream.shared.money import Money

AUDIENCE: Final = "paystream:quote"

QuoteKind = Literal["package", "quantity", "custom_amount"]


@dataclass(frozen=True, slots=True)
class Quote:
    id: str
    user_id: str
    kind: QuoteKind
    # The package or product priced.
    item_id: str
    unit: str
    units: int
    amount: Money
    # Per unit (quantities: the tier's price); None for a package or a custom amount.
    unit_amount: Money | None
    rule: str
    expires_at: datetime

    def claims(self) -> dict[str, Any]:
        return {
            "jti": self.id,
            "sub": self.user_id,
            "kind": self.kind,
            "item": self.item_id,
            "unit": self.unit,
            "units": self.units,
            "amt": self.amount.minor,
            "cur": self.amount.currency,
            "ua": None if self.unit_amount is None else self.unit_amount.minor,
            "rule": self.rule,
        }

    @classmethod
    def from_claims(cls, c: dict[str, Any]) -> Quote:
        currency = str(c["cur"])
        return cls(
            id=str(c["jti"]),
            user_id=str(c["sub"]),
            kind=cast(QuoteKind, c["kind"]),
            item_id=str(c["item"]),
            unit=str(c["unit"]),
            units=int(c["units"]),
            amount=Money(int(c["amt"]), currency),
            unit_amount=None if c["ua"] is None else Money(int(c["ua"]), currency),
            rule=str(c["rule"]),
            expires_at=datetime.fromtimestamp(int(c["exp"]), UTC),
        )


def quote_priced(user_id: str, priced: Priced, *, kind: QuoteKind, expires_at: datetime) -> Quote:
    return Quote(
        id=str(uuid.uuid4()),
        user_id=user_id,
        kind=kind,
        item_id=priced.product.id,
        unit=priced.product.unit,
        units=priced.units,
        amount=priced.amount,
        unit_amount=priced.unit_amount,
        rule=priced.rule,
        expires_at=expires_at,
    )


def quote_package(user_id: str, package: Package, price: Money, *, expires_at: datetime) -> Quote:
    return Quote(
        id=str(uuid.uuid4()),
        user_id=user_id,
        kind="package",
        item_id=package.id,
        unit=package.unit,
        units=package.credits,
        amount=price,
        unit_amount=None,
        rule="package price",
        expires_at=expires_at,
    )


class QuotedItemGone(LookupError):
    """The quoted package or product is no longer in the catalog."""


def order_facts(quote: Quote, catalog: Catalog) -> OrderFacts:
    """What an order presenting `quote` grants and charges: exactly the quoted amount."""
    if quote.kind == "package":
        package = catalog.get(quote.item_id)
        if package is None:
            raise QuotedItemGone(quote.item_id)
        grants, lines = package_facts(package, quote.amount)
        return OrderFacts(
            kind="package",
            item_id=package.id,
            name=package.name,
            credits=package.credits,
            amount=quote.amount,
            grants=grants,
            lines=lines,
        )
    product = catalog.product(quote.item_id)
    if product is None or product.unit != quote.unit:
        raise QuotedItemGone(quote.item_id)
    return OrderFacts(
        kind=quote.kind,
        item_id=product.id,
        name=f"{product.name} x {quote.units:,}",
        credits=quote.units,
        amount=quote.amount,
        grants=(grant_of(product, quote),),
        lines=(line_of(product, quote),),
    )


def grant_of(product: UnitProduct, quote: Quote) -> GrantSpec:
    return GrantSpec(
        unit=product.unit,
        quantity=quote.units,
        validity=product.validity,
        cost_minor=quote.amount.minor,
    )


def line_of(product: UnitProduct, quote: Quote) -> InvoiceLine:
    """Quantities: one line of `units` at the tier's unit price. A custom amount: one line of
    the amount chosen, naming the units it bought and the rate."""
    if quote.unit_amount is not None:
        return InvoiceLine(
            description=f"{describe(product.id, quote.units, product.unit)} ({quote.rule})",
            quantity=quote.units,
            unit_amount_minor=quote.unit_amount.minor,
            amount_minor=quote.amount.minor,
        )
    return InvoiceLine(
        description=f"{describe(product.id, quote.units, product.unit)} for {quote.amount} "
        f"({quote.rule})",
        quantity=1,
        unit_amount_minor=quote.amount.minor,
        amount_minor=quote.amount.minor,
    )
