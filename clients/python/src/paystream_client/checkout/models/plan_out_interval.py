from typing import Literal

PlanOutInterval = Literal["month", "year"]

PLAN_OUT_INTERVAL_VALUES: set[PlanOutInterval] = {
    "month",
    "year",
}


def check_plan_out_interval(value: str) -> PlanOutInterval:
    if value in PLAN_OUT_INTERVAL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {PLAN_OUT_INTERVAL_VALUES!r}")
