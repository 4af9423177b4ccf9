from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.plan_out_interval import PlanOutInterval, check_plan_out_interval

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="PlanOut")


@_attrs_define
class PlanOut:
    """
    Attributes:
        id (str):
        name (str):
        unit (str): the unit the allowance is in
        allowance (int): units granted every month, as a lot that expires at the month's end
        interval (PlanOutInterval): billed every month or every year (an annual plan still grants monthly)
        free (bool):
        default (bool): every user's plan until they choose another
        prices (list[MoneyOut]): per interval; empty for a free plan
        rollover_cap (int | None): what is left of a month's allowance carries over, up to this; null: none
    """

    id: str
    name: str
    unit: str
    allowance: int
    interval: PlanOutInterval
    free: bool
    default: bool
    prices: list[MoneyOut]
    rollover_cap: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        unit = self.unit

        allowance = self.allowance

        interval: str = self.interval

        free = self.free

        default = self.default

        prices = []
        for prices_item_data in self.prices:
            prices_item = prices_item_data.to_dict()
            prices.append(prices_item)

        rollover_cap: int | None
        rollover_cap = self.rollover_cap

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "unit": unit,
                "allowance": allowance,
                "interval": interval,
                "free": free,
                "default": default,
                "prices": prices,
                "rollover_cap": rollover_cap,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        unit = d.pop("unit")

        allowance = d.pop("allowance")

        interval = check_plan_out_interval(d.pop("interval"))

        free = d.pop("free")

        default = d.pop("default")

        prices = []
        _prices = d.pop("prices")
        for prices_item_data in _prices:
            prices_item = MoneyOut.from_dict(prices_item_data)

            prices.append(prices_item)

        def _parse_rollover_cap(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        rollover_cap = _parse_rollover_cap(d.pop("rollover_cap"))

        plan_out = cls(
            id=id,
            name=name,
            unit=unit,
            allowance=allowance,
            interval=interval,
            free=free,
            default=default,
            prices=prices,
            rollover_cap=rollover_cap,
        )

        plan_out.additional_properties = d
        return plan_out

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
