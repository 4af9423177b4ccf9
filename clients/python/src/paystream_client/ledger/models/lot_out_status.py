from typing import Literal

LotOutStatus = Literal["active", "consumed", "expired", "scheduled", "voided"]

LOT_OUT_STATUS_VALUES: set[LotOutStatus] = {
    "active",
    "consumed",
    "expired",
    "scheduled",
    "voided",
}


def check_lot_out_status(value: str) -> LotOutStatus:
    if value in LOT_OUT_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LOT_OUT_STATUS_VALUES!r}")
