from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut
    from ..models.rate_out import RateOut


T = TypeVar("T", bound="CustomAmountOut")


@_attrs_define
class CustomAmountOut:
    """
    Attributes:
        min_ (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        max_ (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        step (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        rates (list[RateOut]):
    """

    min_: MoneyOut
    max_: MoneyOut
    step: MoneyOut
    rates: list[RateOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        min_ = self.min_.to_dict()

        max_ = self.max_.to_dict()

        step = self.step.to_dict()

        rates = []
        for rates_item_data in self.rates:
            rates_item = rates_item_data.to_dict()
            rates.append(rates_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "min": min_,
                "max": max_,
                "step": step,
                "rates": rates,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut
        from ..models.rate_out import RateOut

        d = dict(src_dict)
        min_ = MoneyOut.from_dict(d.pop("min"))

        max_ = MoneyOut.from_dict(d.pop("max"))

        step = MoneyOut.from_dict(d.pop("step"))

        rates = []
        _rates = d.pop("rates")
        for rates_item_data in _rates:
            rates_item = RateOut.from_dict(rates_item_data)

            rates.append(rates_item)

        custom_amount_out = cls(
            min_=min_,
            max_=max_,
            step=step,
            rates=rates,
        )

        custom_amount_out.additional_properties = d
        return custom_amount_out

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
