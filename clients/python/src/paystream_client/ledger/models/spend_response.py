from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SpendResponse")


@_attrs_define
class SpendResponse:
    """
    Attributes:
        transaction_id (UUID):
        user_id (str):
        credits_ (int):
        balance_after (int):
        reason (str):
        created_at (datetime.datetime):
    """

    transaction_id: UUID
    user_id: str
    credits_: int
    balance_after: int
    reason: str
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        transaction_id = str(self.transaction_id)

        user_id = self.user_id

        credits_ = self.credits_

        balance_after = self.balance_after

        reason = self.reason

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "transaction_id": transaction_id,
                "user_id": user_id,
                "credits": credits_,
                "balance_after": balance_after,
                "reason": reason,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        transaction_id = UUID(d.pop("transaction_id"))

        user_id = d.pop("user_id")

        credits_ = d.pop("credits")

        balance_after = d.pop("balance_after")

        reason = d.pop("reason")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        spend_response = cls(
            transaction_id=transaction_id,
            user_id=user_id,
            credits_=credits_,
            balance_after=balance_after,
            reason=reason,
            created_at=created_at,
        )

        spend_response.additional_properties = d
        return spend_response

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
