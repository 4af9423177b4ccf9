from typing import Literal

Decision = Literal["accept", "dismiss", "refund"]

DECISION_VALUES: set[Decision] = {
    "accept",
    "dismiss",
    "refund",
}


def check_decision(value: str) -> Decision:
    if value in DECISION_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {DECISION_VALUES!r}")
