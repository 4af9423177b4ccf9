"""HTTP bodies of auto-recharge."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from paystream.checkout.auto_recharge.domain import Purchase, RechargeStatus, Setting
from paystream.checkout.auto_recharge.repository import Attempt
from paystream.checkout.catalog.schemas import Currency
from paystream.shared.events import DEFAULT_UNIT, UNIT_PATTERN
from paystream.shared.schemas import MoneyIn, MoneyOut

# A threshold or a count beyond these is a typo, not a plan (and keeps every sum in a bigint).
MAX_THRESHOLD = 10**12
MAX_DAILY_COUNT = 100


class AutoRechargeIn(BaseModel):
    """The whole setting of one unit (PUT replaces it). What to buy: a package, a product by
    quantity, or a product for an amount."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "enabled": True,
                    "unit": "credits",
                    "threshold": 100,
                    "package_id": "standard",
                    "currency": "USD",
                    "monthly_cap": {"value": "100.00", "currency": "USD"},
                    "daily_count_cap": 3,
                    "consent_text": "Charge my saved card when my credits run low.",
                }
            ]
        },
    )

    enabled: StrictBool
    unit: str = Field(default=DEFAULT_UNIT, pattern=UNIT_PATTERN)
    threshold: StrictInt = Field(ge=1, le=MAX_THRESHOLD, description="recharge below this")
    package_id: str | None = Field(default=None, min_length=1, max_length=64)
    product_id: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: StrictInt | None = Field(default=None, ge=1, le=10**9)
    amount: MoneyIn | None = None
    currency: Currency
    payment_method_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="a saved card (pm_...); the default card when unset",
    )
    monthly_cap: MoneyIn = Field(description="at most this much charged per calendar month")
    daily_count_cap: StrictInt = Field(ge=1, le=MAX_DAILY_COUNT)
    consent_text: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one_purchase(self) -> AutoRechargeIn:
        if (self.package_id is None) == (self.product_id is None):
            raise ValueError("give exactly one of package_id or product_id")
        if self.package_id is not None and (self.quantity is not None or self.amount is not None):
            raise ValueError("a package has its own quantity and price")
        if self.product_id is not None and (self.quantity is None) == (self.amount is None):
            raise ValueError("give exactly one of quantity or amount for a product")
        if self.amount is not None and self.amount.currency.upper() != self.currency.upper():
            raise ValueError("currency and amount.currency differ")
        if self.monthly_cap.currency.upper() != self.currency.upper():
            raise ValueError("currency and monthly_cap.currency differ")
        if self.monthly_cap.to_money().minor <= 0:
            raise ValueError("monthly_cap must be positive")
        if self.amount is not None and self.amount.to_money().minor <= 0:
            raise ValueError("amount must be positive")
        return self

    def purchase(self) -> Purchase:
        return Purchase(
            package_id=self.package_id,
            product_id=self.product_id,
            quantity=self.quantity,
            amount=None if self.amount is None else self.amount.to_money(),
            currency=self.currency.upper(),
        )


class AutoRechargeOut(BaseModel):
    enabled: bool
    unit: str
    status: RechargeStatus
    threshold: int
    package_id: str | None
    product_id: str | None
    quantity: int | None
    amount: MoneyOut | None
    currency: str
    payment_method_id: str | None
    monthly_cap: MoneyOut
    daily_count_cap: int
    consent_text: str
    consent_at: datetime
    last_error: str | None
    action_url: str | None
    updated_at: datetime

    @classmethod
    def of(cls, s: Setting) -> AutoRechargeOut:
        p = s.purchase
        return cls(
            enabled=s.enabled,
            unit=s.unit,
            status=s.status,
            threshold=s.threshold,
            package_id=p.package_id,
            product_id=p.product_id,
            quantity=p.quantity,
            amount=None if p.amount is None else MoneyOut.of(p.amount),
            currency=p.currency,
            payment_method_id=s.payment_method_id,
            monthly_cap=MoneyOut.of(s.monthly_cap),
            daily_count_cap=s.daily_count_cap,
            consent_text=s.consent_text,
            consent_at=s.consent_at,
            last_error=s.last_error,
            action_url=s.action_url,
            updated_at=s.updated_at,
        )


class AttemptOut(BaseModel):
    attempt_id: str
    unit: str
    trigger: str
    status: str
    order_id: str | None
    amount: MoneyOut
    tries: int
    error_code: str | None
    error: str | None
    created_at: datetime

    @classmethod
    def of(cls, a: Attempt) -> AttemptOut:
        return cls(
            attempt_id=a.id,
            unit=a.unit,
            trigger=a.trigger,
            status=a.status,
            order_id=a.order_id,
            amount=MoneyOut.of(a.amount),
            tries=a.tries,
            error_code=a.error_code,
            error=a.error,
            created_at=a.created_at,
        )


class AutoRechargeList(BaseModel):
    items: list[AutoRechargeOut]
    attempts: list[AttemptOut]


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"unit": "credits"}]})

    unit: str = Field(default=DEFAULT_UNIT, pattern=UNIT_PATTERN)
