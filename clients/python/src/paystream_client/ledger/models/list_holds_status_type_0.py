from typing import Literal

ListHoldsStatusType0 = Literal["captured", "expired", "open", "released"]

LIST_HOLDS_STATUS_TYPE_0_VALUES: set[ListHoldsStatusType0] = {
    "captured",
    "expired",
    "open",
    "released",
}


def check_list_holds_status_type_0(value: str) -> ListHoldsStatusType0:
    if value in LIST_HOLDS_STATUS_TYPE_0_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LIST_HOLDS_STATUS_TYPE_0_VALUES!r}"
    )
