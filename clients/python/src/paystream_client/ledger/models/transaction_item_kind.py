from typing import Literal

TransactionItemKind = Literal[
    "adjustment", "capture", "expire", "grant", "hold", "release", "revoke", "spend", "void"
]

TRANSACTION_ITEM_KIND_VALUES: set[TransactionItemKind] = {
    "adjustment",
    "capture",
    "expire",
    "grant",
    "hold",
    "release",
    "revoke",
    "spend",
    "void",
}


def check_transaction_item_kind(value: str) -> TransactionItemKind:
    if value in TRANSACTION_ITEM_KIND_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TRANSACTION_ITEM_KIND_VALUES!r}")
