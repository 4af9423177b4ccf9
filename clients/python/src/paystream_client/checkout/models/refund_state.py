from typing import Literal

RefundState = Literal["failed", "manual", "pending", "succeeded"]

REFUND_STATE_VALUES: set[RefundState] = {
    "failed",
    "manual",
    "pending",
    "succeeded",
}


def check_refund_state(value: str) -> RefundState:
    if value in REFUND_STATE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {REFUND_STATE_VALUES!r}")
