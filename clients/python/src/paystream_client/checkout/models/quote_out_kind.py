from typing import Literal

QuoteOutKind = Literal["custom_amount", "package", "quantity"]

QUOTE_OUT_KIND_VALUES: set[QuoteOutKind] = {
    "custom_amount",
    "package",
    "quantity",
}


def check_quote_out_kind(value: str) -> QuoteOutKind:
    if value in QUOTE_OUT_KIND_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {QUOTE_OUT_KIND_VALUES!r}")
