from typing import Literal

TransactionItemKind = Literal["grant", "revoke", "spend"]

TRANSACTION_ITEM_KIND_VALUES: set[TransactionItemKind] = {
    "grant",
    "revoke",
    "spend",
}


def check_transaction_item_kind(value: str) -> TransactionItemKind:
    if value in TRANSACTION_ITEM_KIND_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TRANSACTION_ITEM_KIND_VALUES!r}")
