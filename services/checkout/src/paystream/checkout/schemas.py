"""Request and response bodies of checkout's HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints

from paystream.checkout.catalog import Package
from paystream.checkout.domain import Order, OrderStatus, Refund, RefundState
from paystream.shared.money import Money
from paystream.shared.schemas import MoneyIn, MoneyOut

PaymentMethod = Literal[
    "stripe_checkout",
    "stripe_payment_intent",
    "alipay_qr",
    "alipay_page",
    "wechat_pay_native",
    "usdt_trc20",
]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3,4}$", examples=["CNY"])]
ReturnUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)]


class PackageOut(BaseModel):
    id: str
    name: str
    credits: int
    price: MoneyOut = Field(description="The default price (the first of `prices`).")
    prices: list[MoneyOut]

    @classmethod
    def of(cls, p: Package) -> PackageOut:
        return cls(
            id=p.id,
            name=p.name,
            credits=p.credits,
            price=MoneyOut.of(p.price),
            prices=[MoneyOut.of(m) for m in p.prices],
        )


class PackagesOut(BaseModel):
    packages: list[PackageOut]


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


class PaymentMethodOut(BaseModel):
    payment_method: str
    provider: str
    # For stripe_payment_intent: the Stripe payment method types offered in this currency.
    types: list[str] = Field(default_factory=list)


class PaymentMethodsOut(BaseModel):
    currency: str
    methods: list[PaymentMethodOut]


class CreateRefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64)
    amount: MoneyIn | None = Field(
        default=None, description="Part of the payment to return; all that is left by default."
    )
    reason: str = Field(min_length=1, max_length=500, examples=["requested_by_customer"])


class ConfirmPayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(
        min_length=1, max_length=200, description="The payout's reference, e.g. the TRON txid."
    )


class RefundOut(BaseModel):
    refund_id: str
    order_id: str
    user_id: str
    amount: MoneyOut
    reason: str
    status: RefundState
    provider: str
    provider_refund_id: str | None
    failure_reason: str | None
    payout_reference: str | None
    created_at: datetime
    succeeded_at: datetime | None

    @classmethod
    def of(cls, r: Refund) -> RefundOut:
        return cls(
            refund_id=r.id,
            order_id=r.order_id,
            user_id=r.user_id,
            amount=MoneyOut.of(r.amount),
            reason=r.reason,
            status=r.status,
            provider=r.provider,
            provider_refund_id=r.provider_refund_id,
            failure_reason=r.failure_reason,
            payout_reference=r.payout_reference,
            created_at=r.created_at,
            succeeded_at=r.succeeded_at,
        )


class RefundPage(BaseModel):
    items: list[RefundOut]
    next_cursor: str | None
