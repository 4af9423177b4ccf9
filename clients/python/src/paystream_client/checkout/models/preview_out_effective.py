from typing import Literal

PreviewOutEffective = Literal["now", "period_end"]

PREVIEW_OUT_EFFECTIVE_VALUES: set[PreviewOutEffective] = {
    "now",
    "period_end",
}


def check_preview_out_effective(value: str) -> PreviewOutEffective:
    if value in PREVIEW_OUT_EFFECTIVE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {PREVIEW_OUT_EFFECTIVE_VALUES!r}")
