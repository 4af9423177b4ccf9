from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.period_out import PeriodOut


T = TypeVar("T", bound="ProrationOut")


@_attrs_define
class ProrationOut:
    """
    Attributes:
        at (datetime.datetime): the proration time this preview pins
        period (PeriodOut):
        seconds_left (int):
        seconds_in_period (int):
        allowance_period (PeriodOut):
        allowance_seconds_left (int):
    """

    at: datetime.datetime
    period: PeriodOut
    seconds_left: int
    seconds_in_period: int
    allowance_period: PeriodOut
    allowance_seconds_left: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        period = self.period.to_dict()

        seconds_left = self.seconds_left

        seconds_in_period = self.seconds_in_period

        allowance_period = self.allowance_period.to_dict()

        allowance_seconds_left = self.allowance_seconds_left

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "period": period,
                "seconds_left": seconds_left,
                "seconds_in_period": seconds_in_period,
                "allowance_period": allowance_period,
                "allowance_seconds_left": allowance_seconds_left,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.period_out import PeriodOut

        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))

        period = PeriodOut.from_dict(d.pop("period"))

        seconds_left = d.pop("seconds_left")

        seconds_in_period = d.pop("seconds_in_period")

        allowance_period = PeriodOut.from_dict(d.pop("allowance_period"))

        allowance_seconds_left = d.pop("allowance_seconds_left")

        proration_out = cls(
            at=at,
            period=period,
            seconds_left=seconds_left,
            seconds_in_period=seconds_in_period,
            allowance_period=allowance_period,
            allowance_seconds_left=allowance_seconds_left,
        )

        proration_out.additional_properties = d
        return proration_out

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
