from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TriggerIn")


@_attrs_define
class TriggerIn:
    """
    Attributes:
        unit (str | Unset):  Default: 'credits'.
    """

    unit: str | Unset = "credits"

    def to_dict(self) -> dict[str, Any]:
        unit = self.unit

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if unit is not UNSET:
            field_dict["unit"] = unit

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        unit = d.pop("unit", UNSET)

        trigger_in = cls(
            unit=unit,
        )

        return trigger_in
