from typing import Literal

ListRefundsStatusType0 = Literal["applied", "pending", "rejected"]

LIST_REFUNDS_STATUS_TYPE_0_VALUES: set[ListRefundsStatusType0] = {
    "applied",
    "pending",
    "rejected",
}


def check_list_refunds_status_type_0(value: str) -> ListRefundsStatusType0:
    if value in LIST_REFUNDS_STATUS_TYPE_0_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LIST_REFUNDS_STATUS_TYPE_0_VALUES!r}"
    )
