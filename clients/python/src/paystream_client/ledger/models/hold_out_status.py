from typing import Literal

HoldOutStatus = Literal["captured", "expired", "open", "released"]

HOLD_OUT_STATUS_VALUES: set[HoldOutStatus] = {
    "captured",
    "expired",
    "open",
    "released",
}


def check_hold_out_status(value: str) -> HoldOutStatus:
    if value in HOLD_OUT_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HOLD_OUT_STATUS_VALUES!r}")
