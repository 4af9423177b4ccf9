from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="DepositOut")


@_attrs_define
class DepositOut:
    """Where and exactly how much to send (USDT on TRON).

    Attributes:
        address (str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        network (Literal['TRON (TRC20)'] | Unset):  Default: 'TRON (TRC20)'.
    """

    address: str
    amount: MoneyOut
    network: Literal["TRON (TRC20)"] | Unset = "TRON (TRC20)"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        address = self.address

        amount = self.amount.to_dict()

        network = self.network

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "address": address,
                "amount": amount,
            }
        )
        if network is not UNSET:
            field_dict["network"] = network

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        address = d.pop("address")

        amount = MoneyOut.from_dict(d.pop("amount"))

        network = cast(Literal["TRON (TRC20)"] | Unset, d.pop("network", UNSET))
        if network != "TRON (TRC20)" and not isinstance(network, Unset):
            raise ValueError(f"network must match const 'TRON (TRC20)', got '{network}'")

        deposit_out = cls(
            address=address,
            amount=amount,
            network=network,
        )

        deposit_out.additional_properties = d
        return deposit_out

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
