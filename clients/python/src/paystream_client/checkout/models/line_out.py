from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="LineOut")


@_attrs_define
class LineOut:
    """One line of what an order charges, as its invoice will show it.

    Attributes:
        description (str):
        quantity (int):
        unit_amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
    """

    description: str
    quantity: int
    unit_amount: MoneyOut
    amount: MoneyOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        description = self.description

        quantity = self.quantity

        unit_amount = self.unit_amount.to_dict()

        amount = self.amount.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "description": description,
                "quantity": quantity,
                "unit_amount": unit_amount,
                "amount": amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        description = d.pop("description")

        quantity = d.pop("quantity")

        unit_amount = MoneyOut.from_dict(d.pop("unit_amount"))

        amount = MoneyOut.from_dict(d.pop("amount"))

        line_out = cls(
            description=description,
            quantity=quantity,
            unit_amount=unit_amount,
            amount=amount,
        )

        line_out.additional_properties = d
        return line_out

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
