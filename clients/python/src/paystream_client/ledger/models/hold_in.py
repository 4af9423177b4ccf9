from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="HoldIn")


@_attrs_define
class HoldIn:
    """
    Attributes:
        credits_ (int): a positive integer
        ttl_seconds (int): how long the hold lasts
        unit (str | Unset): the unit, `credits` by default Default: 'credits'.
        reason (str | Unset):  Default: 'hold'.
    """

    credits_: int
    ttl_seconds: int
    unit: str | Unset = "credits"
    reason: str | Unset = "hold"

    def to_dict(self) -> dict[str, Any]:
        credits_ = self.credits_

        ttl_seconds = self.ttl_seconds

        unit = self.unit

        reason = self.reason

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "credits": credits_,
                "ttl_seconds": ttl_seconds,
            }
        )
        if unit is not UNSET:
            field_dict["unit"] = unit
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credits_ = d.pop("credits")

        ttl_seconds = d.pop("ttl_seconds")

        unit = d.pop("unit", UNSET)

        reason = d.pop("reason", UNSET)

        hold_in = cls(
            credits_=credits_,
            ttl_seconds=ttl_seconds,
            unit=unit,
            reason=reason,
        )

        return hold_in
