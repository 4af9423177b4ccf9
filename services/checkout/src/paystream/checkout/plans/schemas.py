"""HTTP bodies of the plans on sale."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from paystream.checkout.plans.domain import Plan
from paystream.shared.schemas import MoneyOut


class PlanOut(BaseModel):
    id: str
    name: str
    unit: str = Field(description="the unit the allowance is in")
    allowance: int = Field(
        description="units granted every month, as a lot that expires at the month's end"
    )
    interval: Literal["month", "year"] = Field(
        description="billed every month or every year (an annual plan still grants monthly)"
    )
    free: bool
    default: bool = Field(description="every user's plan until they choose another")
    prices: list[MoneyOut] = Field(description="per interval; empty for a free plan")
    rollover_cap: int | None = Field(
        description="what is left of a month's allowance carries over, up to this; null: none"
    )

    @classmethod
    def of(cls, p: Plan, *, default: bool) -> PlanOut:
        return cls(
            id=p.id,
            name=p.name,
            unit=p.unit,
            allowance=p.allowance,
            interval=p.interval,
            free=p.is_free,
            default=default,
            prices=[MoneyOut.of(m) for m in p.prices],
            rollover_cap=None if p.rollover is None else p.rollover.cap,
        )


class PlansOut(BaseModel):
    plans: list[PlanOut]
