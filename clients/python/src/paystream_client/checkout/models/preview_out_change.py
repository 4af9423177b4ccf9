from typing import Literal

PreviewOutChange = Literal["downgrade", "upgrade"]

PREVIEW_OUT_CHANGE_VALUES: set[PreviewOutChange] = {
    "downgrade",
    "upgrade",
}


def check_preview_out_change(value: str) -> PreviewOutChange:
    if value in PREVIEW_OUT_CHANGE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {PREVIEW_OUT_CHANGE_VALUES!r}")
