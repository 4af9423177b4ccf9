"""Unit products: bought by quantity at volume tier prices, or for a custom amount at the rate the
amount qualifies for. Pure: no I/O, integers only (money in minor units, units whole).

Volume tiers: the tier a quantity falls in prices every unit of it (20 receives at the 20+ tier
cost 20 x 1.60). Custom amounts: an amount within the product's minimum and maximum, on its step,
qualifies for the best rate whose threshold it reaches, and buys `floor(amount / rate)` units,
where a rate is `per / units` (1100 credits per 100.00); units are never rounded up. Without
configured rates, the tiers are the rates: a tier's threshold is the price of its first quantity
(5 receives at 1.80 = 9.00). The rules and worked examples are in checkout's README.
"""

from __future__ import annotations

from dataclasses import dataclass

from paystream.shared.events import DEFAULT_UNIT, MAX_CREDITS
from paystream.shared.money import Money


class PricingError(ValueError):
    """A purchase the product does not allow; `code` says which rule refused it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Tier:
    """Quantities from the previous tier's `up_to` + 1 to `up_to` (None: no upper end) cost
    `unit_amount` each."""

    up_to: int | None
    unit_amount: Money


@dataclass(frozen=True, slots=True)
class Rate:
    """Amounts from `threshold` on buy `units` per `per` (the rate is `per / units`)."""

    threshold: Money
    units: int
    per: Money

    def units_for(self, amount: Money) -> int:
        # Integer floor division of minor units: exact, never rounds a unit up.
        return amount.minor * self.units // self.per.minor


@dataclass(frozen=True, slots=True)
class CustomAmount:
    minimum: Money
    maximum: Money
    step: Money
    rates: tuple[Rate, ...]

    def rate_for(self, amount: Money) -> Rate:
        """The best rate `amount` qualifies for (rates ascend by threshold)."""
        return [r for r in self.rates if r.threshold <= amount][-1]


@dataclass(frozen=True, slots=True)
class ProductPrice:
    """A product's prices in one currency: tiers (quantities), a custom-amount rule, or both."""

    currency: str
    tiers: tuple[Tier, ...] = ()
    custom: CustomAmount | None = None


@dataclass(frozen=True, slots=True)
class UnitProduct:
    id: str
    name: str
    unit: str = DEFAULT_UNIT
    # ISO 8601 duration the bought units last from the payment; None: they never expire.
    validity: str | None = None
    min_quantity: int = 1
    max_quantity: int = 100
    prices: tuple[ProductPrice, ...] = ()

    def price_in(self, currency: str) -> ProductPrice | None:
        return next((p for p in self.prices if p.currency == currency.upper()), None)

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(p.currency for p in self.prices)


def tier_bounds(tiers: tuple[Tier, ...], min_quantity: int = 1) -> list[tuple[int, int | None]]:
    """(first, last) quantity of each tier; the last tier's may be None (no upper end)."""
    out: list[tuple[int, int | None]] = []
    first = min_quantity
    for t in tiers:
        out.append((first, t.up_to))
        first = (t.up_to or first) + 1
    return out


def tier_for(tiers: tuple[Tier, ...], quantity: int, min_quantity: int = 1) -> tuple[int, Tier]:
    """The tier `quantity` falls in, with its index."""
    for i, ((first, last), tier) in enumerate(
        zip(tier_bounds(tiers, min_quantity), tiers, strict=True)
    ):
        if first <= quantity and (last is None or quantity <= last):
            return i, tier
    raise PricingError("quantity_out_of_range", f"no tier prices a quantity of {quantity}")


@dataclass(frozen=True, slots=True)
class Priced:
    """What a purchase of a unit product costs and grants."""

    product: UnitProduct
    units: int
    amount: Money
    # Per unit for a quantity; None for a custom amount (the amount is what was chosen).
    unit_amount: Money | None
    # Which rule priced it, for the quote and the invoice line: `tier 20-100 at 1.60`.
    rule: str


def price_quantity(product: UnitProduct, quantity: int, currency: str) -> Priced:
    """`quantity` units at the tier the quantity reaches, every unit at that tier's price."""
    price = _price(product, currency)
    if not price.tiers:
        raise PricingError(
            "quantity_not_offered",
            f"{product.id} is not sold by quantity in {price.currency} (choose an amount)",
        )
    if not product.min_quantity <= quantity <= product.max_quantity:
        raise PricingError(
            "quantity_out_of_range",
            f"quantity must be {product.min_quantity} to {product.max_quantity}, got {quantity}",
        )
    i, tier = tier_for(price.tiers, quantity, product.min_quantity)
    first, last = tier_bounds(price.tiers, product.min_quantity)[i]
    span = f"{first}+" if last is None else f"{first}-{last}"
    return Priced(
        product=product,
        units=quantity,
        amount=Money(tier.unit_amount.minor * quantity, price.currency),
        unit_amount=tier.unit_amount,
        rule=f"tier {span} at {tier.unit_amount.format()}",
    )


def price_amount(product: UnitProduct, amount: Money) -> Priced:
    """What a custom `amount` buys: within the bounds, on the step, at the rate it reaches."""
    price = _price(product, amount.currency)
    rule = price.custom
    if rule is None:
        raise PricingError(
            "custom_amount_not_offered",
            f"{product.id} takes no custom amount in {amount.currency} (choose a quantity)",
        )
    if not rule.minimum <= amount <= rule.maximum:
        raise PricingError(
            "amount_out_of_range",
            f"the amount must be {rule.minimum} to {rule.maximum}, got {amount}",
        )
    if (amount.minor - rule.minimum.minor) % rule.step.minor:
        raise PricingError(
            "amount_off_step",
            f"the amount must be {rule.minimum} plus a multiple of {rule.step.format()}, "
            f"got {amount}",
        )
    rate = rule.rate_for(amount)
    return Priced(
        product=product,
        units=rate.units_for(amount),
        amount=amount,
        unit_amount=None,
        rule=f"rate {rate.units} per {rate.per.format()} from {rate.threshold.format()}",
    )


def _price(product: UnitProduct, currency: str) -> ProductPrice:
    price = product.price_in(currency)
    if price is None:
        offered = ", ".join(product.currencies)
        raise PricingError(
            "currency_not_offered",
            f"{product.id} is not sold in {currency.upper()} (it is in {offered})",
        )
    return price


def rates_from_tiers(tiers: tuple[Tier, ...], min_quantity: int) -> tuple[Rate, ...]:
    """The tiers as custom-amount rates: each from the price of its first quantity."""
    return tuple(
        Rate(
            threshold=Money(t.unit_amount.minor * first, t.unit_amount.currency),
            units=1,
            per=t.unit_amount,
        )
        for (first, _), t in zip(tier_bounds(tiers, min_quantity), tiers, strict=True)
    )


def check_product(p: UnitProduct) -> list[str]:
    """What is wrong with a product's configuration (empty: nothing)."""
    problems: list[str] = []
    if not 1 <= p.min_quantity <= p.max_quantity <= MAX_CREDITS:
        problems.append(
            f"quantities must be 1 <= min_quantity <= max_quantity, got "
            f"{p.min_quantity}..{p.max_quantity}"
        )
    if not p.prices:
        problems.append("no price in any currency")
    for price in p.prices:
        where = f"prices[{price.currency}]"
        if not price.tiers and price.custom is None:
            problems.append(f"{where}: give tiers, a custom_amount, or both")
        problems += [f"{where}: {m}" for m in _check_tiers(price.tiers, p)]
        if price.custom is not None:
            problems += [f"{where}: custom_amount: {m}" for m in _check_custom(price.custom, p)]
    return problems


def _check_tiers(tiers: tuple[Tier, ...], p: UnitProduct) -> list[str]:
    problems: list[str] = []
    previous = p.min_quantity - 1
    for i, t in enumerate(tiers):
        if not t.unit_amount.is_positive():
            problems.append(f"tiers[{i}]: unit_amount must be positive")
        if t.up_to is None:
            if i != len(tiers) - 1:
                problems.append(f"tiers[{i}]: only the last tier may have no up_to")
            continue
        if t.up_to <= previous:
            problems.append(f"tiers[{i}]: up_to must be above {previous}, got {t.up_to}")
        previous = t.up_to
    if tiers and tiers[-1].up_to is not None and tiers[-1].up_to < p.max_quantity:
        problems.append(f"tiers: the last tier ends at {tiers[-1].up_to}, below max_quantity")
    return problems


def _check_custom(c: CustomAmount, p: UnitProduct) -> list[str]:
    problems: list[str] = []
    if not c.step.is_positive() or not c.minimum.is_positive():
        problems.append("min and step must be positive")
        return problems
    if c.maximum < c.minimum:
        problems.append("max is below min")
    if (c.maximum.minor - c.minimum.minor) % c.step.minor:
        problems.append("max is not min plus a multiple of step")
    if not c.rates:
        problems.append("no rates (give rates, or tiers in the same currency)")
        return problems
    if c.rates[0].threshold > c.minimum:
        problems.append("the lowest rate's threshold is above min: min would buy at no rate")
    for i, r in enumerate(c.rates):
        if r.units <= 0 or not r.per.is_positive():
            problems.append(f"rates[{i}]: units and per must be positive")
            return problems
        if i and r.threshold <= c.rates[i - 1].threshold:
            problems.append(f"rates[{i}]: thresholds must ascend")
    if c.rate_for(c.minimum).units_for(c.minimum) < 1:
        problems.append(f"min {c.minimum} buys no {p.unit}")
    most = c.rate_for(c.maximum).units_for(c.maximum)
    if most > min(p.max_quantity, MAX_CREDITS):
        problems.append(f"max {c.maximum} buys {most} {p.unit}, above max_quantity")
    return problems
