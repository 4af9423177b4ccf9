from typing import Literal

ListLotsStatusType0 = Literal["active", "consumed", "expired", "scheduled", "voided"]

LIST_LOTS_STATUS_TYPE_0_VALUES: set[ListLotsStatusType0] = {
    "active",
    "consumed",
    "expired",
    "scheduled",
    "voided",
}


def check_list_lots_status_type_0(value: str) -> ListLotsStatusType0:
    if value in LIST_LOTS_STATUS_TYPE_0_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LIST_LOTS_STATUS_TYPE_0_VALUES!r}"
    )
