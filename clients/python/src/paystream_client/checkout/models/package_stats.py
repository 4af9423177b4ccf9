from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PackageStats")


@_attrs_define
class PackageStats:
    """
    Attributes:
        package_id (str):
        created (int):
        paid (int):
        credits_ (int): credits sold by paid orders
    """

    package_id: str
    created: int
    paid: int
    credits_: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        package_id = self.package_id

        created = self.created

        paid = self.paid

        credits_ = self.credits_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "package_id": package_id,
                "created": created,
                "paid": paid,
                "credits": credits_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        package_id = d.pop("package_id")

        created = d.pop("created")

        paid = d.pop("paid")

        credits_ = d.pop("credits")

        package_stats = cls(
            package_id=package_id,
            created=created,
            paid=paid,
            credits_=credits_,
        )

        package_stats.additional_properties = d
        return package_stats

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
