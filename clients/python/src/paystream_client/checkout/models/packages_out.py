from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.package_out import PackageOut
    from ..models.product_out import ProductOut
    from ..models.unit_out import UnitOut


T = TypeVar("T", bound="PackagesOut")


@_attrs_define
class PackagesOut:
    """
    Attributes:
        packages (list[PackageOut]):
        units (list[UnitOut]): the units the catalog sells
        products (list[ProductOut] | Unset): unit products sold by quantity (tiers) or for a custom amount (also at GET
            /v1/products); price a purchase with POST /v1/quotes
    """

    packages: list[PackageOut]
    units: list[UnitOut]
    products: list[ProductOut] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        packages = []
        for packages_item_data in self.packages:
            packages_item = packages_item_data.to_dict()
            packages.append(packages_item)

        units = []
        for units_item_data in self.units:
            units_item = units_item_data.to_dict()
            units.append(units_item)

        products: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.products, Unset):
            products = []
            for products_item_data in self.products:
                products_item = products_item_data.to_dict()
                products.append(products_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "packages": packages,
                "units": units,
            }
        )
        if products is not UNSET:
            field_dict["products"] = products

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.package_out import PackageOut
        from ..models.product_out import ProductOut
        from ..models.unit_out import UnitOut

        d = dict(src_dict)
        packages = []
        _packages = d.pop("packages")
        for packages_item_data in _packages:
            packages_item = PackageOut.from_dict(packages_item_data)

            packages.append(packages_item)

        units = []
        _units = d.pop("units")
        for units_item_data in _units:
            units_item = UnitOut.from_dict(units_item_data)

            units.append(units_item)

        _products = d.pop("products", UNSET)
        products: list[ProductOut] | Unset = UNSET
        if _products is not UNSET:
            products = []
            for products_item_data in _products:
                products_item = ProductOut.from_dict(products_item_data)

                products.append(products_item)

        packages_out = cls(
            packages=packages,
            units=units,
            products=products,
        )

        packages_out.additional_properties = d
        return packages_out

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
