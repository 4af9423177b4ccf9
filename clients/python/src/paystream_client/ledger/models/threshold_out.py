from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ThresholdOut")


@_attrs_define
class ThresholdOut:
    """
    Attributes:
        user_id (str):
        unit (str):
        threshold (int | None):
        available (int):
        below (bool):
    """

    user_id: str
    unit: str
    threshold: int | None
    available: int
    below: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        unit = self.unit

        threshold: int | None
        threshold = self.threshold

        available = self.available

        below = self.below

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "user_id": user_id,
                "unit": unit,
                "threshold": threshold,
                "available": available,
                "below": below,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user_id = d.pop("user_id")

        unit = d.pop("unit")

        def _parse_threshold(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        threshold = _parse_threshold(d.pop("threshold"))

        available = d.pop("available")

        below = d.pop("below")

        threshold_out = cls(
            user_id=user_id,
            unit=unit,
            threshold=threshold,
            available=available,
            below=below,
        )

        threshold_out.additional_properties = d
        return threshold_out

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
