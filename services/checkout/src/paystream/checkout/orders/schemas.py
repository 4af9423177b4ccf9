"""HTTP bodies of the orders API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    UrlConstraints,
    model_validator,
)

from paystream.checkout.catalog.schemas import Currency
from paystream.checkout.orders.domain import Order, OrderStatus
from paystream.shared.events import GrantSpec, InvoiceLine
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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "package_id": "standard",
                    "payment_method": "alipay_qr",
                    "currency": "CNY",
                    "return_url": "https://shop.example.com/checkout/return",
                }
            ]
        },
    )

    package_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        examples=["standard"],
        description="A package at its catalog price; or give `quote` instead.",
    )
    quote: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="A quote's token (POST /v1/quotes): a quantity or a custom amount, "
        "charged exactly as quoted.",
    )
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

    # Saved payment methods (issue 12): the card paying this order is saved for later.
    save_card: StrictBool = Field(
        default=False,
        description="stripe_payment_intent only: save the card that pays this order to the "
        "caller's saved methods (Stripe `setup_future_usage=off_session`; card only)",
    )

    @model_validator(mode="after")
    def _one_item(self) -> CreateOrderIn:
        if (self.package_id is None) == (self.quote is None):
            raise ValueError("give exactly one of package_id or quote")
        if self.save_card and self.payment_method != "stripe_payment_intent":
            raise ValueError("save_card needs payment_method stripe_payment_intent")
        return self


class LineOut(BaseModel):
    """One line of what an order charges, as its invoice will show it."""

    description: str
    quantity: int
    unit_amount: MoneyOut
    amount: MoneyOut

    @classmethod
    def of(cls, line: InvoiceLine, currency: str) -> LineOut:
        return cls(
            description=line.description,
            quantity=line.quantity,
            unit_amount=MoneyOut.of(Money(line.unit_amount_minor, currency)),
            amount=MoneyOut.of(Money(line.amount_minor, currency)),
        )


class GrantOut(BaseModel):
    """One lot an order grants once paid."""

    unit: str
    quantity: int
    source: str
    # Defaults only so that the contract's examples, which FastAPI writes without nulls, still
    # validate; both are always sent.
    validity: str | None = Field(
        default=None,
        description="ISO 8601 duration from the payment; null with "
        "`expires_at` set, or for units that never expire",
    )
    expires_at: datetime | None = Field(
        default=None, description="a fixed end (a plan period's end)"
    )

    @classmethod
    def of(cls, g: GrantSpec) -> GrantOut:
        return cls(
            unit=g.unit,
            quantity=g.quantity,
            source=g.source,
            validity=g.validity,
            expires_at=g.expires_at,
        )


class DepositOut(BaseModel):
    """Where and exactly how much to send (USDT on TRON)."""

    network: Literal["TRON (TRC20)"] = "TRON (TRC20)"
    address: str
    amount: MoneyOut = Field(description="Send exactly this: it identifies the order.")


class OrderOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "0b6a1f9e-3c1d-4f7a-9d47-2f1c8b7a6e51",
                    "user_id": "user-42",
                    "status": "pending",
                    "package_id": "standard",
                    "credits": 1100,
                    "amount": {"value": "100.00", "currency": "CNY"},
                    "payment_method": "alipay_qr",
                    "provider": "alipay",
                    "payment_url": None,
                    "client_secret": None,
                    "payment_method_types": [],
                    "qr_code": "https://qr.alipay.com/bax01234",
                    "qr_image_url": "/v1/orders/0b6a1f9e-3c1d-4f7a-9d47-2f1c8b7a6e51/qr",
                    "deposit": None,
                    "provider_session_id": None,
                    "expires_at": "2026-11-01T08:31:00Z",
                    "created_at": "2026-11-01T08:00:00Z",
                    "paid_at": None,
                    "amount_mismatch": False,
                    "refunded": {"value": "0.00", "currency": "CNY"},
                    "kind": "package",
                    "lines": [
                        {
                            "description": "standard — 1,100 credits",
                            "quantity": 1,
                            "unit_amount": {"value": "100.00", "currency": "CNY"},
                            "amount": {"value": "100.00", "currency": "CNY"},
                        }
                    ],
                    "grants": [
                        {
                            "unit": "credits",
                            "quantity": 1100,
                            "source": "purchase",
                            "validity": "P6M",
                            "expires_at": None,
                        }
                    ],
                }
            ]
        }
    )

    order_id: str
    user_id: str
    status: OrderStatus
    kind: str = Field(
        description="package | quantity | custom_amount | subscription | renewal "
        "| upgrade | allowance"
    )
    package_id: str = Field(description="the package, product or plan the order sells")
    credits: int = Field(description="units of the order's first grant")
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
    # Why a failed order failed, as the provider put it (a decline's message): a page can say it.
    failure_reason: str | None = None
    refunded: MoneyOut
    lines: list[LineOut] = Field(description="what the order charges, as the invoice shows it")
    grants: list[GrantOut] = Field(description="what it grants once paid")

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
            failure_reason=o.failure_reason,
            refunded=MoneyOut.of(Money(o.refunded_minor, currency)),
            kind=o.kind,
            lines=[LineOut.of(line, o.amount.currency) for line in o.lines],
            grants=[GrantOut.of(g) for g in o.grants],
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
