from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="PackageOut")


@_attrs_define
class PackageOut:
    """
    Attributes:
        id (str):
        name (str):
        credits_ (int): how many of `unit` the package grants
        unit (str): the unit granted: `credits`, or one the catalog defines
        validity (None | str): ISO 8601 duration the granted credits last from the payment (`P6M`); null: they never
            expire
        price (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        prices (list[MoneyOut]):
    """

    id: str
    name: str
    credits_: int
    unit: str
    validity: str | None
    price: MoneyOut
    prices: list[MoneyOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        credits_ = self.credits_

        unit = self.unit

        validity: str | None
        validity = self.validity

        price = self.price.to_dict()

        prices = []
        for prices_item_data in self.prices:
            prices_item = prices_item_data.to_dict()
            prices.append(prices_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "credits": credits_,
                "unit": unit,
                "validity": validity,
                "price": price,
                "prices": prices,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        credits_ = d.pop("credits")

        unit = d.pop("unit")

        def _parse_validity(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        validity = _parse_validity(d.pop("validity"))

        price = MoneyOut.from_dict(d.pop("price"))

        prices = []
        _prices = d.pop("prices")
        for prices_item_data in _prices:
            prices_item = MoneyOut.from_dict(prices_item_data)

            prices.append(prices_item)

        package_out = cls(
            id=id,
            name=name,
            credits_=credits_,
            unit=unit,
            validity=validity,
            price=price,
            prices=prices,
        )

        package_out.additional_properties = d
        return package_out

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
