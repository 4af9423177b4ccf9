"""HTTP bodies of the orders API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints

from paystream.checkout.catalog.schemas import Currency
from paystream.checkout.orders.domain import Order, OrderStatus
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyOut

PaymentMethod = Literal[
    "stripe_checkout",
    "stripe_payment_intent",
    "alipay_qr",
    "alipay_page",
    "wechat_pay_native",
    "usdt_trc20",
]
ReturnUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)]


class CreateOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    package_id: str = Field(min_length=1, max_length=64, examples=["standard"])
    payment_method: PaymentMethod
    return_url: ReturnUrl | None = Field(
        default=None,
        description="Where the payment page sends the customer back (http or https).",
    )
    currency: Currency | None = Field(
        default=None,
        description="Pay the package's price in this currency; by default the first of the "
        "package's currencies that the payment method takes.",
    )


class DepositOut(BaseModel):
    """Where and exactly how much to send (USDT on TRON)."""

    network: Literal["TRON (TRC20)"] = "TRON (TRC20)"
    address: str
    amount: MoneyOut = Field(description="Send exactly this: it identifies the order.")


class OrderOut(BaseModel):
    order_id: str
    user_id: str
    status: OrderStatus
    package_id: str
    credits: int
    amount: MoneyOut
    payment_method: str
    provider: str | None
    # What the frontend needs, by method: a page to redirect to (stripe_checkout, alipay_page),
    # a client_secret for Stripe.js (stripe_payment_intent), a QR string to render or fetch as an
    # image at `qr_image_url` (alipay_qr, wechat_pay_native), a deposit (usdt_trc20).
    payment_url: str | None
    client_secret: str | None
    payment_method_types: list[str]
    qr_code: str | None
    qr_image_url: str | None
    deposit: DepositOut | None
    provider_session_id: str | None
    expires_at: datetime
    created_at: datetime
    paid_at: datetime | None
    # Money was taken but not the amount ordered: kept paid, flagged for an operator.
    amount_mismatch: bool
    refunded: MoneyOut

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        has_qr = o.qr_code is not None or o.deposit_address is not None
        deposit = (
            DepositOut(address=o.deposit_address, amount=MoneyOut.of(o.deposit_amount))
            if o.deposit_address is not None and o.deposit_amount is not None
            else None
        )
        currency = o.paid_currency or o.amount.currency
        return cls(
            order_id=o.id,
            user_id=o.user_id,
            status=o.status,
            package_id=o.package_id,
            credits=o.credits,
            amount=MoneyOut.of(o.amount),
            payment_method=o.payment_method,
            provider=o.provider,
            payment_url=o.payment_url,
            client_secret=o.client_secret,
            payment_method_types=list(o.payment_method_types),
            qr_code=o.qr_code,
            qr_image_url=f"/v1/orders/{o.id}/qr" if has_qr else None,
            deposit=deposit,
            provider_session_id=o.provider_session_id,
            expires_at=o.expires_at,
            created_at=o.created_at,
            paid_at=o.paid_at,
            amount_mismatch=o.amount_mismatch,
            refunded=MoneyOut.of(Money(o.refunded_minor, currency)),
        )


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class ProviderAnswerOut(BaseModel):
    state: Literal["paid", "failed", "open"] = Field(
        description="What the provider says: paid, failed (final), or open (nothing final yet)."
    )
    status: str | None = Field(default=None, description="The provider's own word for it.")


class SyncOut(BaseModel):
    order: OrderOut = Field(description="The order after what the provider said was applied.")
    provider: ProviderAnswerOut | None = Field(
        default=None,
        description="The provider's answer; null when there was nothing to ask (the order is "
        "settled, or its payment was never opened at a provider).",
    )
