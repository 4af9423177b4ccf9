from typing import Literal

RefundItemStatus = Literal["applied", "pending", "rejected"]

REFUND_ITEM_STATUS_VALUES: set[RefundItemStatus] = {
    "applied",
    "pending",
    "rejected",
}


def check_refund_item_status(value: str) -> RefundItemStatus:
    if value in REFUND_ITEM_STATUS_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {REFUND_ITEM_STATUS_VALUES!r}")
