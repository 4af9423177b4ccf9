from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="PendingOrderOut")


@_attrs_define
class PendingOrderOut:
    """
    Attributes:
        order_id (str):
        kind (str):
        plan_id (str):
        status (str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
    """

    order_id: str
    kind: str
    plan_id: str
    status: str
    amount: MoneyOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        order_id = self.order_id

        kind = self.kind

        plan_id = self.plan_id

        status = self.status

        amount = self.amount.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "order_id": order_id,
                "kind": kind,
                "plan_id": plan_id,
                "status": status,
                "amount": amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        order_id = d.pop("order_id")

        kind = d.pop("kind")

        plan_id = d.pop("plan_id")

        status = d.pop("status")

        amount = MoneyOut.from_dict(d.pop("amount"))

        pending_order_out = cls(
            order_id=order_id,
            kind=kind,
            plan_id=plan_id,
            status=status,
            amount=amount,
        )

        pending_order_out.additional_properties = d
        return pending_order_out

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
