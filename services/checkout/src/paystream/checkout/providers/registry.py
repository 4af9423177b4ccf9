"""Which provider serves which payment method, in which currency.

Built once at start from the providers whose settings are present: a provider without keys is
simply not offered, and asking for its methods is refused with `payment_method_unavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paystream.checkout.providers import PaymentProvider

# Every payment method paystream knows, and the provider that owns it. A method belongs to one
# provider, so an order's method alone says whom to ask for a refund or to close its session.
METHOD_PROVIDER: dict[str, str] = {
    "stripe_checkout": "stripe",
    "stripe_payment_intent": "stripe",
    # Plans billed by Stripe Subscriptions: renewals and upgrades charged on Stripe invoices.
    "stripe_invoice": "stripe",
    "alipay_qr": "alipay",
    "alipay_page": "alipay",
    "wechat_pay_native": "wechatpay",
    "usdt_trc20": "usdt_trc20",
}


@dataclass(frozen=True, slots=True)
class Offered:
    payment_method: str
    provider: str


class ProviderRegistry:
    def __init__(self, providers: Sequence[PaymentProvider]) -> None:
        self._by_name: dict[str, PaymentProvider] = {p.name: p for p in providers}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def by_name(self, name: str) -> PaymentProvider | None:
        return self._by_name.get(name)

    def for_method(self, method: str) -> PaymentProvider | None:
        name = METHOD_PROVIDER.get(method)
        return None if name is None else self._by_name.get(name)

    def offered(self, currency: str) -> list[Offered]:
        """The methods a payer can use for an amount in `currency`, in a stable order."""
        currency = currency.upper()
        out: list[Offered] = []
        for p in self._by_name.values():
            out.extend(Offered(m, p.name) for m in p.methods_for(currency))
        return out

    def is_offered(self, method: str, currency: str) -> bool:
        p = self.for_method(method)
        return p is not None and method in p.methods_for(currency.upper())

    async def aclose(self) -> None:
        for p in self._by_name.values():
            await p.aclose()
