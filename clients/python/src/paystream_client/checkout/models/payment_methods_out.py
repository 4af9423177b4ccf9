from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.payment_method_out import PaymentMethodOut


T = TypeVar("T", bound="PaymentMethodsOut")


@_attrs_define
class PaymentMethodsOut:
    """
    Attributes:
        currency (str):
        methods (list[PaymentMethodOut]):
    """

    currency: str
    methods: list[PaymentMethodOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        currency = self.currency

        methods = []
        for methods_item_data in self.methods:
            methods_item = methods_item_data.to_dict()
            methods.append(methods_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "currency": currency,
                "methods": methods,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.payment_method_out import PaymentMethodOut

        d = dict(src_dict)
        currency = d.pop("currency")

        methods = []
        _methods = d.pop("methods")
        for methods_item_data in _methods:
            methods_item = PaymentMethodOut.from_dict(methods_item_data)

            methods.append(methods_item)

        payment_methods_out = cls(
            currency=currency,
            methods=methods,
        )

        payment_methods_out.additional_properties = d
        return payment_methods_out

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
