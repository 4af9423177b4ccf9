from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.custom_amount_out import CustomAmountOut
    from ..models.tier_out import TierOut


T = TypeVar("T", bound="ProductPriceOut")


@_attrs_define
class ProductPriceOut:
    """
    Attributes:
        currency (str):
        tiers (list[TierOut]): volume tiers: the tier a quantity reaches prices every unit; empty when sold only for a
            custom amount
        custom_amount (CustomAmountOut | None):
    """

    currency: str
    tiers: list[TierOut]
    custom_amount: CustomAmountOut | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.custom_amount_out import CustomAmountOut

        currency = self.currency

        tiers = []
        for tiers_item_data in self.tiers:
            tiers_item = tiers_item_data.to_dict()
            tiers.append(tiers_item)

        custom_amount: dict[str, Any] | None
        if isinstance(self.custom_amount, CustomAmountOut):
            custom_amount = self.custom_amount.to_dict()
        else:
            custom_amount = self.custom_amount

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "currency": currency,
                "tiers": tiers,
                "custom_amount": custom_amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.custom_amount_out import CustomAmountOut
        from ..models.tier_out import TierOut

        d = dict(src_dict)
        currency = d.pop("currency")

        tiers = []
        _tiers = d.pop("tiers")
        for tiers_item_data in _tiers:
            tiers_item = TierOut.from_dict(tiers_item_data)

            tiers.append(tiers_item)

        def _parse_custom_amount(data: object) -> CustomAmountOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                custom_amount_type_0 = CustomAmountOut.from_dict(data)

                return custom_amount_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CustomAmountOut | None, data)

        custom_amount = _parse_custom_amount(d.pop("custom_amount"))

        product_price_out = cls(
            currency=currency,
            tiers=tiers,
            custom_amount=custom_amount,
        )

        product_price_out.additional_properties = d
        return product_price_out

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
