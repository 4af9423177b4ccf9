from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ChangeOut")


@_attrs_define
class ChangeOut:
    """
    Attributes:
        change (str):
        old_plan_id (None | str):
        new_plan_id (str):
        old_status (None | str):
        new_status (str):
        order_id (None | str):
        changed_at (datetime.datetime):
    """

    change: str
    old_plan_id: str | None
    new_plan_id: str
    old_status: str | None
    new_status: str
    order_id: str | None
    changed_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        change = self.change

        old_plan_id: str | None
        old_plan_id = self.old_plan_id

        new_plan_id = self.new_plan_id

        old_status: str | None
        old_status = self.old_status

        new_status = self.new_status

        order_id: str | None
        order_id = self.order_id

        changed_at = self.changed_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "change": change,
                "old_plan_id": old_plan_id,
                "new_plan_id": new_plan_id,
                "old_status": old_status,
                "new_status": new_status,
                "order_id": order_id,
                "changed_at": changed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        change = d.pop("change")

        def _parse_old_plan_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        old_plan_id = _parse_old_plan_id(d.pop("old_plan_id"))

        new_plan_id = d.pop("new_plan_id")

        def _parse_old_status(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        old_status = _parse_old_status(d.pop("old_status"))

        new_status = d.pop("new_status")

        def _parse_order_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        order_id = _parse_order_id(d.pop("order_id"))

        changed_at = datetime.datetime.fromisoformat(d.pop("changed_at"))

        change_out = cls(
            change=change,
            old_plan_id=old_plan_id,
            new_plan_id=new_plan_id,
            old_status=old_status,
            new_status=new_status,
            order_id=order_id,
            changed_at=changed_at,
        )

        change_out.additional_properties = d
        return change_out

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
