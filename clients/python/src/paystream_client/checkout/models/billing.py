from typing import Literal

Billing = Literal["free", "manual", "stripe"]

BILLING_VALUES: set[Billing] = {
    "free",
    "manual",
    "stripe",
}


def check_billing(value: str) -> Billing:
    if value in BILLING_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {BILLING_VALUES!r}")
