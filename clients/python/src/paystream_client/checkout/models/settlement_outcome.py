from typing import Literal

SettlementOutcome = Literal[
    "amount_differs", "matched", "missing_at_provider", "missing_in_paystream"
]

SETTLEMENT_OUTCOME_VALUES: set[SettlementOutcome] = {
    "amount_differs",
    "matched",
    "missing_at_provider",
    "missing_in_paystream",
}


def check_settlement_outcome(value: str) -> SettlementOutcome:
    if value in SETTLEMENT_OUTCOME_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SETTLEMENT_OUTCOME_VALUES!r}")
