from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="CreditNoteRef")


@_attrs_define
class CreditNoteRef:
    """A credit note as listed on its invoice.

    Attributes:
        id (UUID):
        number (str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        credits_ (int):
        issued_at (datetime.datetime):
    """

    id: UUID
    number: str
    amount: MoneyOut
    credits_: int
    issued_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        number = self.number

        amount = self.amount.to_dict()

        credits_ = self.credits_

        issued_at = self.issued_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "number": number,
                "amount": amount,
                "credits": credits_,
                "issued_at": issued_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        number = d.pop("number")

        amount = MoneyOut.from_dict(d.pop("amount"))

        credits_ = d.pop("credits")

        issued_at = datetime.datetime.fromisoformat(d.pop("issued_at"))

        credit_note_ref = cls(
            id=id,
            number=number,
            amount=amount,
            credits_=credits_,
            issued_at=issued_at,
        )

        credit_note_ref.additional_properties = d
        return credit_note_ref

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
