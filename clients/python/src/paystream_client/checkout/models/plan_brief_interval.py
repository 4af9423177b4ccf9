from typing import Literal

PlanBriefInterval = Literal["month", "year"]

PLAN_BRIEF_INTERVAL_VALUES: set[PlanBriefInterval] = {
    "month",
    "year",
}


def check_plan_brief_interval(value: str) -> PlanBriefInterval:
    if value in PLAN_BRIEF_INTERVAL_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {PLAN_BRIEF_INTERVAL_VALUES!r}")
