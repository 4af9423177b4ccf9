from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.unit_balance_out import UnitBalanceOut


T = TypeVar("T", bound="BalanceOut")


@_attrs_define
class BalanceOut:
    """
    Attributes:
        user_id (str):
        at (datetime.datetime): the moment this balance is of
        credits_ (int): available credits of the default unit `credits`
        balances (list[UnitBalanceOut]): per unit
    """

    user_id: str
    at: datetime.datetime
    credits_: int
    balances: list[UnitBalanceOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        at = self.at.isoformat()

        credits_ = self.credits_

        balances = []
        for balances_item_data in self.balances:
            balances_item = balances_item_data.to_dict()
            balances.append(balances_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "user_id": user_id,
                "at": at,
                "credits": credits_,
                "balances": balances,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.unit_balance_out import UnitBalanceOut

        d = dict(src_dict)
        user_id = d.pop("user_id")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        credits_ = d.pop("credits")

        balances = []
        _balances = d.pop("balances")
        for balances_item_data in _balances:
            balances_item = UnitBalanceOut.from_dict(balances_item_data)

            balances.append(balances_item)

        balance_out = cls(
            user_id=user_id,
            at=at,
            credits_=credits_,
            balances=balances,
        )

        balance_out.additional_properties = d
        return balance_out

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
