from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.reconcile_item import ReconcileItem


T = TypeVar("T", bound="ReconcileStatus")


@_attrs_define
class ReconcileStatus:
    """
    Attributes:
        pending_orders (int): pending orders the reconciler can ask about
        pending_refunds (int): pending refunds it asks about until known
        items (list[ReconcileItem]): the oldest of them, up to `limit`
    """

    pending_orders: int
    pending_refunds: int
    items: list[ReconcileItem]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pending_orders = self.pending_orders

        pending_refunds = self.pending_refunds

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pending_orders": pending_orders,
                "pending_refunds": pending_refunds,
                "items": items,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.reconcile_item import ReconcileItem

        d = dict(src_dict)
        pending_orders = d.pop("pending_orders")

        pending_refunds = d.pop("pending_refunds")

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = ReconcileItem.from_dict(items_item_data)

            items.append(items_item)

        reconcile_status = cls(
            pending_orders=pending_orders,
            pending_refunds=pending_refunds,
            items=items,
        )

        reconcile_status.additional_properties = d
        return reconcile_status

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
