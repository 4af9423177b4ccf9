from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="TierOut")


@_attrs_define
class TierOut:
    """
    Attributes:
        first (int): the smallest quantity this tier prices
        up_to (int | None): the largest (null: no upper end)
        unit_amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
    """

    first: int
    up_to: int | None
    unit_amount: MoneyOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        first = self.first

        up_to: int | None
        up_to = self.up_to

        unit_amount = self.unit_amount.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "first": first,
                "up_to": up_to,
                "unit_amount": unit_amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        first = d.pop("first")

        def _parse_up_to(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        up_to = _parse_up_to(d.pop("up_to"))

        unit_amount = MoneyOut.from_dict(d.pop("unit_amount"))

        tier_out = cls(
            first=first,
            up_to=up_to,
            unit_amount=unit_amount,
        )

        tier_out.additional_properties = d
        return tier_out

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
