from typing import Literal

ReconcileItemKind = Literal["order", "refund"]

RECONCILE_ITEM_KIND_VALUES: set[ReconcileItemKind] = {
    "order",
    "refund",
}


def check_reconcile_item_kind(value: str) -> ReconcileItemKind:
    if value in RECONCILE_ITEM_KIND_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {RECONCILE_ITEM_KIND_VALUES!r}")
