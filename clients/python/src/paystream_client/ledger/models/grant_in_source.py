from typing import Literal

GrantInSource = Literal["adjustment", "promotion"]

GRANT_IN_SOURCE_VALUES: set[GrantInSource] = {
    "adjustment",
    "promotion",
}


def check_grant_in_source(value: str) -> GrantInSource:
    if value in GRANT_IN_SOURCE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {GRANT_IN_SOURCE_VALUES!r}")
