from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SpendIn")


@_attrs_define
class SpendIn:
    """
    Attributes:
        credits_ (int): a positive integer
        reason (str): what the credits pay for
        unit (str | Unset): the unit, `credits` by default Default: 'credits'.
    """

    credits_: int
    reason: str
    unit: str | Unset = "credits"

    def to_dict(self) -> dict[str, Any]:
        credits_ = self.credits_

        reason = self.reason

        unit = self.unit

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "credits": credits_,
                "reason": reason,
            }
        )
        if unit is not UNSET:
            field_dict["unit"] = unit

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credits_ = d.pop("credits")

        reason = d.pop("reason")

        unit = d.pop("unit", UNSET)

        spend_in = cls(
            credits_=credits_,
            reason=reason,
            unit=unit,
        )

        return spend_in
