from typing import Literal

RechargeStatus = Literal["active", "disabled", "requires_action"]

RECHARGE_STATUS_VALUES: set[RechargeStatus] = {
    "active",
    "disabled",
    "requires_action",
}


def check_recharge_status(value: str) -> RechargeStatus:
    if value in RECHARGE_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {RECHARGE_STATUS_VALUES!r}")
