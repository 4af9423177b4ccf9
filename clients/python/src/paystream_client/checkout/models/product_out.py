from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.product_price_out import ProductPriceOut


T = TypeVar("T", bound="ProductOut")


@_attrs_define
class ProductOut:
    """
    Attributes:
        id (str):
        name (str):
        unit (str):
        validity (None | str): ISO 8601 duration the bought units last from the payment; null: forever
        min_quantity (int):
        max_quantity (int):
        prices (list[ProductPriceOut]):
    """

    id: str
    name: str
    unit: str
    validity: str | None
    min_quantity: int
    max_quantity: int
    prices: list[ProductPriceOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        unit = self.unit

        validity: str | None
        validity = self.validity

        min_quantity = self.min_quantity

        max_quantity = self.max_quantity

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
                "unit": unit,
                "validity": validity,
                "min_quantity": min_quantity,
                "max_quantity": max_quantity,
                "prices": prices,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.product_price_out import ProductPriceOut

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        unit = d.pop("unit")

        def _parse_validity(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        validity = _parse_validity(d.pop("validity"))

        min_quantity = d.pop("min_quantity")

        max_quantity = d.pop("max_quantity")

        prices = []
        _prices = d.pop("prices")
        for prices_item_data in _prices:
            prices_item = ProductPriceOut.from_dict(prices_item_data)

            prices.append(prices_item)

        product_out = cls(
            id=id,
            name=name,
            unit=unit,
            validity=validity,
            min_quantity=min_quantity,
            max_quantity=max_quantity,
            prices=prices,
        )

        product_out.additional_properties = d
        return product_out

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
