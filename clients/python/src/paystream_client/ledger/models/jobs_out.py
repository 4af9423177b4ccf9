from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="JobsOut")


@_attrs_define
class JobsOut:
    """
    Attributes:
        holds_released (int):
        lots_expired (int):
        notices_sent (int):
        refunds_settled (int):
    """

    holds_released: int
    lots_expired: int
    notices_sent: int
    refunds_settled: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        holds_released = self.holds_released

        lots_expired = self.lots_expired

        notices_sent = self.notices_sent

        refunds_settled = self.refunds_settled

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "holds_released": holds_released,
                "lots_expired": lots_expired,
                "notices_sent": notices_sent,
                "refunds_settled": refunds_settled,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        holds_released = d.pop("holds_released")

        lots_expired = d.pop("lots_expired")

        notices_sent = d.pop("notices_sent")

        refunds_settled = d.pop("refunds_settled")

        jobs_out = cls(
            holds_released=holds_released,
            lots_expired=lots_expired,
            notices_sent=notices_sent,
            refunds_settled=refunds_settled,
        )

        jobs_out.additional_properties = d
        return jobs_out

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
