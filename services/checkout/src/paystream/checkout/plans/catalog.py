"""The `plans` of the catalog file.

    {"id": "pro", "name": "Pro", "unit": "receives", "allowance": 20, "interval": "month",
     "prices": [{"value": "29.00", "currency": "CNY"}], "rollover": {"cap": 10}}

A plan without prices is free; a catalog with plans has exactly one free plan, every user's
default (Basic). `interval` is `month` or `year` (billed yearly, granted monthly); `rollover`
(optional) carries what is left of a month's allowance into the next, up to `cap`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from paystream.checkout.plans.domain import Plan, Rollover
from paystream.shared.events import MAX_CREDITS
from paystream.shared.money import CurrencyError, Money

PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class _PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: StrictStr
    currency: StrictStr


class _RolloverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cap: StrictInt


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    name: StrictStr
    unit: StrictStr
    allowance: StrictInt
    interval: Literal["month", "year"] = "month"
    prices: list[_PriceIn] = []
    rollover: _RolloverIn | None = None


def parse_plans(raw: list[PlanIn], units: set[str], problems: list[str]) -> list[Plan]:
    out: list[Plan] = []
    seen: set[str] = set()
    for i, p in enumerate(raw):
        where = f"plans[{i}] ({p.id!r})"
        if not PLAN_ID.match(p.id):
            problems.append(f"{where}: id must match {PLAN_ID.pattern}")
        if p.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(p.id)
        if not p.name.strip():
            problems.append(f"{where}: name is empty")
        if p.unit not in units:
            problems.append(f"{where}: unit {p.unit!r} is not one of the catalog's units")
        if not 0 < p.allowance <= MAX_CREDITS:
            problems.append(f"{where}: allowance must be a positive integer")
        if p.rollover is not None and not 0 < p.rollover.cap <= MAX_CREDITS:
            problems.append(f"{where}: rollover cap must be a positive integer")
        prices: list[Money] = []
        for j, pr in enumerate(p.prices):
            try:
                price = Money.parse(pr.value, pr.currency.upper())
            except (CurrencyError, ValueError) as exc:
                problems.append(f"{where}: prices[{j}]: {exc}")
                continue
            if not price.is_positive():
                problems.append(f"{where}: prices[{j}]: a price is positive (omit prices: free)")
            elif any(q.currency == price.currency for q in prices):
                problems.append(f"{where}: prices[{j}]: a second price in {price.currency}")
            else:
                prices.append(price)
        if not p.prices and p.interval != "month":
            problems.append(f"{where}: a free plan renews monthly")
        out.append(
            Plan(
                id=p.id,
                name=p.name.strip(),
                unit=p.unit,
                allowance=p.allowance,
                interval=p.interval,
                prices=tuple(prices),
                rollover=None if p.rollover is None else Rollover(p.rollover.cap),
            )
        )
    free = [p.id for p in out if p.is_free]
    if out and len(free) != 1:
        problems.append(
            f"plans: exactly one free plan (every user's default) is needed, found {free or 'none'}"
        )
    return out
