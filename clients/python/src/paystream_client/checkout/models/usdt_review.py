from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="UsdtReview")


@_attrs_define
class UsdtReview:
    """
    Attributes:
        status (str): underpaid, overpaid, late, duplicate or unmatched
        transfers (int):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        last_seen_at (datetime.datetime | None):
    """

    status: str
    transfers: int
    amount: MoneyOut
    last_seen_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status

        transfers = self.transfers

        amount = self.amount.to_dict()

        last_seen_at: str | None
        if isinstance(self.last_seen_at, datetime.datetime):
            last_seen_at = self.last_seen_at.isoformat()
        else:
            last_seen_at = self.last_seen_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "transfers": transfers,
                "amount": amount,
                "last_seen_at": last_seen_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        status = d.pop("status")

        transfers = d.pop("transfers")

        amount = MoneyOut.from_dict(d.pop("amount"))

        def _parse_last_seen_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_seen_at_type_0 = datetime.datetime.fromisoformat(data)

                return last_seen_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_seen_at = _parse_last_seen_at(d.pop("last_seen_at"))

        usdt_review = cls(
            status=status,
            transfers=transfers,
            amount=amount,
            last_seen_at=last_seen_at,
        )

        usdt_review.additional_properties = d
        return usdt_review

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
