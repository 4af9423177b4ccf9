from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="AdvanceIn")


@_attrs_define
class AdvanceIn:
    """
    Attributes:
        by (str): ISO 8601 duration, e.g. P6M1D or PT1H; months are calendar months
    """

    by: str

    def to_dict(self) -> dict[str, Any]:
        by = self.by

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "by": by,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        by = d.pop("by")

        advance_in = cls(
            by=by,
        )

        return advance_in
