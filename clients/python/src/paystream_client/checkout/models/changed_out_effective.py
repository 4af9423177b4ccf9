from typing import Literal

ChangedOutEffective = Literal["now", "period_end"]

CHANGED_OUT_EFFECTIVE_VALUES: set[ChangedOutEffective] = {
    "now",
    "period_end",
}


def check_changed_out_effective(value: str) -> ChangedOutEffective:
    if value in CHANGED_OUT_EFFECTIVE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {CHANGED_OUT_EFFECTIVE_VALUES!r}")
