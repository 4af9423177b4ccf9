from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.next_expiry import NextExpiry


T = TypeVar("T", bound="UnitBalanceOut")


@_attrs_define
class UnitBalanceOut:
    """
    Attributes:
        unit (str):
        available (int): credits that can be spent or held now
        held (int): credits reserved by open holds
        next_expiry (NextExpiry | None): the soonest expiry of available credits
    """

    unit: str
    available: int
    held: int
    next_expiry: NextExpiry | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.next_expiry import NextExpiry

        unit = self.unit

        available = self.available

        held = self.held

        next_expiry: dict[str, Any] | None
        if isinstance(self.next_expiry, NextExpiry):
            next_expiry = self.next_expiry.to_dict()
        else:
            next_expiry = self.next_expiry

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "unit": unit,
                "available": available,
                "held": held,
                "next_expiry": next_expiry,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.next_expiry import NextExpiry

        d = dict(src_dict)
        unit = d.pop("unit")

        available = d.pop("available")

        held = d.pop("held")

        def _parse_next_expiry(data: object) -> NextExpiry | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                next_expiry_type_0 = NextExpiry.from_dict(data)

                return next_expiry_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NextExpiry | None, data)

        next_expiry = _parse_next_expiry(d.pop("next_expiry"))

        unit_balance_out = cls(
            unit=unit,
            available=available,
            held=held,
            next_expiry=next_expiry,
        )

        unit_balance_out.additional_properties = d
        return unit_balance_out

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
