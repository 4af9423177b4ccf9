from typing import Literal

ListTransactionsTypeType0Item = Literal[
    "adjustment", "capture", "expire", "grant", "hold", "release", "revoke", "spend", "void"
]

LIST_TRANSACTIONS_TYPE_TYPE_0_ITEM_VALUES: set[ListTransactionsTypeType0Item] = {
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


def check_list_transactions_type_type_0_item(value: str) -> ListTransactionsTypeType0Item:
    if value in LIST_TRANSACTIONS_TYPE_TYPE_0_ITEM_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LIST_TRANSACTIONS_TYPE_TYPE_0_ITEM_VALUES!r}"
    )
