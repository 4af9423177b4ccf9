from typing import Literal

ChangedOutChange = Literal["downgrade", "upgrade"]

CHANGED_OUT_CHANGE_VALUES: set[ChangedOutChange] = {
    "downgrade",
    "upgrade",
}


def check_changed_out_change(value: str) -> ChangedOutChange:
    if value in CHANGED_OUT_CHANGE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {CHANGED_OUT_CHANGE_VALUES!r}")
