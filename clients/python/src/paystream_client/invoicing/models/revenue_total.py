from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="RevenueTotal")


@_attrs_define
class RevenueTotal:
    """
    Attributes:
        provider (str):
        currency (str):
        invoices (int):
        revenue (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        credit_notes (int):
        refunds (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        net (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
    """

    provider: str
    currency: str
    invoices: int
    revenue: MoneyOut
    credit_notes: int
    refunds: MoneyOut
    net: MoneyOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        provider = self.provider

        currency = self.currency

        invoices = self.invoices

        revenue = self.revenue.to_dict()

        credit_notes = self.credit_notes

        refunds = self.refunds.to_dict()

        net = self.net.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "provider": provider,
                "currency": currency,
                "invoices": invoices,
                "revenue": revenue,
                "credit_notes": credit_notes,
                "refunds": refunds,
                "net": net,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        provider = d.pop("provider")

        currency = d.pop("currency")

        invoices = d.pop("invoices")

        revenue = MoneyOut.from_dict(d.pop("revenue"))

        credit_notes = d.pop("credit_notes")

        refunds = MoneyOut.from_dict(d.pop("refunds"))

        net = MoneyOut.from_dict(d.pop("net"))

        revenue_total = cls(
            provider=provider,
            currency=currency,
            invoices=invoices,
            revenue=revenue,
            credit_notes=credit_notes,
            refunds=refunds,
            net=net,
        )

        revenue_total.additional_properties = d
        return revenue_total

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
