from typing import Literal

ProviderAnswerOutState = Literal["failed", "open", "paid"]

PROVIDER_ANSWER_OUT_STATE_VALUES: set[ProviderAnswerOutState] = {
    "failed",
    "open",
    "paid",
}


def check_provider_answer_out_state(value: str) -> ProviderAnswerOutState:
    if value in PROVIDER_ANSWER_OUT_STATE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {PROVIDER_ANSWER_OUT_STATE_VALUES!r}"
    )
