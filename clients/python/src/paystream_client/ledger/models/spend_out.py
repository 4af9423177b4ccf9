from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.lot_amount_out import LotAmountOut


T = TypeVar("T", bound="SpendOut")


@_attrs_define
class SpendOut:
    """
    Attributes:
        transaction_id (UUID):
        user_id (str):
        unit (str):
        credits_ (int):
        balance_after (int): credits available in the unit after the spend
        reason (str):
        created_at (datetime.datetime):
        lots (list[LotAmountOut]): the lots it consumed, in consumption order
    """

    transaction_id: UUID
    user_id: str
    unit: str
    credits_: int
    balance_after: int
    reason: str
    created_at: datetime.datetime
    lots: list[LotAmountOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        transaction_id = str(self.transaction_id)

        user_id = self.user_id

        unit = self.unit

        credits_ = self.credits_

        balance_after = self.balance_after

        reason = self.reason

        created_at = self.created_at.isoformat()

        lots = []
        for lots_item_data in self.lots:
            lots_item = lots_item_data.to_dict()
            lots.append(lots_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "transaction_id": transaction_id,
                "user_id": user_id,
                "unit": unit,
                "credits": credits_,
                "balance_after": balance_after,
                "reason": reason,
                "created_at": created_at,
                "lots": lots,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lot_amount_out import LotAmountOut

        d = dict(src_dict)
        transaction_id = UUID(d.pop("transaction_id"))

        user_id = d.pop("user_id")

        unit = d.pop("unit")

        credits_ = d.pop("credits")

        balance_after = d.pop("balance_after")

        reason = d.pop("reason")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        lots = []
        _lots = d.pop("lots")
        for lots_item_data in _lots:
            lots_item = LotAmountOut.from_dict(lots_item_data)

            lots.append(lots_item)

        spend_out = cls(
            transaction_id=transaction_id,
            user_id=user_id,
            unit=unit,
            credits_=credits_,
            balance_after=balance_after,
            reason=reason,
            created_at=created_at,
            lots=lots,
        )

        spend_out.additional_properties = d
        return spend_out

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
