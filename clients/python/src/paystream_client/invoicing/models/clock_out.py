from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ClockOut")


@_attrs_define
class ClockOut:
    """
    Attributes:
        sandbox (bool): true when this service runs in sandbox mode
        now (datetime.datetime): the service's time (real time plus the sandbox offset)
        offset_seconds (float): how far the sandbox clock is ahead of real time
    """

    sandbox: bool
    now: datetime.datetime
    offset_seconds: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sandbox = self.sandbox

        now = self.now.isoformat()

        offset_seconds = self.offset_seconds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sandbox": sandbox,
                "now": now,
                "offset_seconds": offset_seconds,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sandbox = d.pop("sandbox")

        now = datetime.datetime.fromisoformat(d.pop("now"))

        offset_seconds = d.pop("offset_seconds")

        clock_out = cls(
            sandbox=sandbox,
            now=now,
            offset_seconds=offset_seconds,
        )

        clock_out.additional_properties = d
        return clock_out

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
