from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="CreditNoteOut")


@_attrs_define
class CreditNoteOut:
    """
    Attributes:
        id (UUID):
        number (str):
        invoice_id (UUID):
        invoice_number (str):
        order_id (str):
        user_id (str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        credits_ (int): the credits this refund concerns: its share of the invoice's credits
        reason (None | str):
        refund_key (str):
        refund_id (None | str): paystream's refund, when made through the API
        provider (str):
        provider_refund_id (str):
        refunded_at (datetime.datetime):
        issued_at (datetime.datetime):
    """

    id: UUID
    number: str
    invoice_id: UUID
    invoice_number: str
    order_id: str
    user_id: str
    amount: MoneyOut
    credits_: int
    reason: str | None
    refund_key: str
    refund_id: str | None
    provider: str
    provider_refund_id: str
    refunded_at: datetime.datetime
    issued_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        number = self.number

        invoice_id = str(self.invoice_id)

        invoice_number = self.invoice_number

        order_id = self.order_id

        user_id = self.user_id

        amount = self.amount.to_dict()

        credits_ = self.credits_

        reason: str | None
        reason = self.reason

        refund_key = self.refund_key

        refund_id: str | None
        refund_id = self.refund_id

        provider = self.provider

        provider_refund_id = self.provider_refund_id

        refunded_at = self.refunded_at.isoformat()

        issued_at = self.issued_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "number": number,
                "invoice_id": invoice_id,
                "invoice_number": invoice_number,
                "order_id": order_id,
                "user_id": user_id,
                "amount": amount,
                "credits": credits_,
                "reason": reason,
                "refund_key": refund_key,
                "refund_id": refund_id,
                "provider": provider,
                "provider_refund_id": provider_refund_id,
                "refunded_at": refunded_at,
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

        invoice_id = UUID(d.pop("invoice_id"))

        invoice_number = d.pop("invoice_number")

        order_id = d.pop("order_id")

        user_id = d.pop("user_id")

        amount = MoneyOut.from_dict(d.pop("amount"))

        credits_ = d.pop("credits")

        def _parse_reason(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        refund_key = d.pop("refund_key")

        def _parse_refund_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        refund_id = _parse_refund_id(d.pop("refund_id"))

        provider = d.pop("provider")

        provider_refund_id = d.pop("provider_refund_id")

        refunded_at = datetime.datetime.fromisoformat(d.pop("refunded_at"))

        issued_at = datetime.datetime.fromisoformat(d.pop("issued_at"))

        credit_note_out = cls(
            id=id,
            number=number,
            invoice_id=invoice_id,
            invoice_number=invoice_number,
            order_id=order_id,
            user_id=user_id,
            amount=amount,
            credits_=credits_,
            reason=reason,
            refund_key=refund_key,
            refund_id=refund_id,
            provider=provider,
            provider_refund_id=provider_refund_id,
            refunded_at=refunded_at,
            issued_at=issued_at,
        )

        credit_note_out.additional_properties = d
        return credit_note_out

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
