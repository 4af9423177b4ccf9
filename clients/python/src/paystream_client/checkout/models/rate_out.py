from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="RateOut")


@_attrs_define
class RateOut:
    """
    Attributes:
        threshold (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        units (int):
        per (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
    """

    threshold: MoneyOut
    units: int
    per: MoneyOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        threshold = self.threshold.to_dict()

        units = self.units

        per = self.per.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "threshold": threshold,
                "units": units,
                "per": per,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        threshold = MoneyOut.from_dict(d.pop("threshold"))

        units = d.pop("units")

        per = MoneyOut.from_dict(d.pop("per"))

        rate_out = cls(
            threshold=threshold,
            units=units,
            per=per,
        )

        rate_out.additional_properties = d
        return rate_out

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
