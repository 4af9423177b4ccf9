"""Pricing a purchase before the order: what it costs, grants and shows on the invoice, signed
so that the order charges exactly that."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from paystream.checkout.catalog.domain import Catalog
from paystream.checkout.orders.domain import OrderFacts
from paystream.checkout.orders.service import CurrencyNotOffered, UnknownPackage, UnknownProduct
from paystream.checkout.pricing.domain import PricingError, price_amount, price_quantity
from paystream.checkout.quotes import domain
from paystream.checkout.quotes.signing import Signer
from paystream.shared.errors import Unprocessable
from paystream.shared.money import Money


class QuantityOutOfRange(Unprocessable):
    code = "quantity_out_of_range"


class AmountOutOfRange(Unprocessable):
    code = "amount_out_of_range"


class AmountOffStep(Unprocessable):
    code = "amount_off_step"


class QuantityNotOffered(Unprocessable):
    code = "quantity_not_offered"


class CustomAmountNotOffered(Unprocessable):
    code = "custom_amount_not_offered"


_REFUSALS: Final[dict[str, type[Unprocessable]]] = {
    c.code: c
    for c in (
        QuantityOutOfRange,
        AmountOutOfRange,
        AmountOffStep,
        QuantityNotOffered,
        CustomAmountNotOffered,
        CurrencyNotOffered,
    )
}


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    user_id: str
    package_id: str | None = None
    product_id: str | None = None
    quantity: int | None = None
    amount: Money | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Quoted:
    quote: domain.Quote
    facts: OrderFacts
    token: str


def make_quote(req: QuoteRequest, *, catalog: Catalog, signer: Signer, ttl: timedelta) -> Quoted:
    """Price `req` now (checkout's clock) and sign the quote; refusals are 4xx with the rule's
    code."""
    expires_at = (signer.clock.now() + ttl).replace(microsecond=0)
    if req.package_id is not None:
        package = catalog.get(req.package_id)
        if package is None:
            raise UnknownPackage(f"unknown package {req.package_id!r}")
        price = package.price if req.currency is None else package.price_in(req.currency)
        if price is None:
            offered = ", ".join(p.currency for p in package.prices)
            raise CurrencyNotOffered(
                f"package {package.id!r} is not sold in {req.currency} (it is in {offered})"
            )
        quote = domain.quote_package(req.user_id, package, price, expires_at=expires_at)
    else:
        product = catalog.product(req.product_id or "")
        if product is None:
            raise UnknownProduct(f"unknown product {req.product_id!r}")
        try:
            if req.amount is not None:
                priced = price_amount(product, req.amount)
                kind: domain.QuoteKind = "custom_amount"
            else:
                assert req.quantity is not None
                currency = req.currency or product.currencies[0]
                priced = price_quantity(product, req.quantity, currency)
                kind = "quantity"
        except PricingError as exc:
            raise _REFUSALS[exc.code](str(exc)) from None
        quote = domain.quote_priced(req.user_id, priced, kind=kind, expires_at=expires_at)
    token = signer.sign(domain.AUDIENCE, quote.claims(), expires_at=expires_at)
    return Quoted(quote=quote, facts=domain.order_facts(quote, catalog), token=token)
