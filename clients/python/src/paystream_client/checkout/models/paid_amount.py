from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="PaidAmount")


@_attrs_define
class PaidAmount:
    """
    Attributes:
        payment_method (str):
        currency (str):
        paid_orders (int):
        paid (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        refunded (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
    """

    payment_method: str
    currency: str
    paid_orders: int
    paid: MoneyOut
    refunded: MoneyOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        payment_method = self.payment_method

        currency = self.currency

        paid_orders = self.paid_orders

        paid = self.paid.to_dict()

        refunded = self.refunded.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "payment_method": payment_method,
                "currency": currency,
                "paid_orders": paid_orders,
                "paid": paid,
                "refunded": refunded,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        payment_method = d.pop("payment_method")

        currency = d.pop("currency")

        paid_orders = d.pop("paid_orders")

        paid = MoneyOut.from_dict(d.pop("paid"))

        refunded = MoneyOut.from_dict(d.pop("refunded"))

        paid_amount = cls(
            payment_method=payment_method,
            currency=currency,
            paid_orders=paid_orders,
            paid=paid,
            refunded=refunded,
        )

        paid_amount.additional_properties = d
        return paid_amount

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
