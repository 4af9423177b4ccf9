from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.credit_note_ref import CreditNoteRef
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="InvoiceOut")


@_attrs_define
class InvoiceOut:
    """
    Attributes:
        id (UUID):
        number (str):
        order_id (str):
        user_id (str):
        package_id (None | str):
        description (str):
        credits_ (int):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        provider (str):
        provider_payment_id (None | str):
        status (str): paid, partially_refunded or refunded (see credit_notes)
        refunded (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        credit_notes (list[CreditNoteRef]): oldest first
        paid_at (datetime.datetime):
        issued_at (datetime.datetime):
    """

    id: UUID
    number: str
    order_id: str
    user_id: str
    package_id: str | None
    description: str
    credits_: int
    amount: MoneyOut
    provider: str
    provider_payment_id: str | None
    status: str
    refunded: MoneyOut
    credit_notes: list[CreditNoteRef]
    paid_at: datetime.datetime
    issued_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        number = self.number

        order_id = self.order_id

        user_id = self.user_id

        package_id: str | None
        package_id = self.package_id

        description = self.description

        credits_ = self.credits_

        amount = self.amount.to_dict()

        provider = self.provider

        provider_payment_id: str | None
        provider_payment_id = self.provider_payment_id

        status = self.status

        refunded = self.refunded.to_dict()

        credit_notes = []
        for credit_notes_item_data in self.credit_notes:
            credit_notes_item = credit_notes_item_data.to_dict()
            credit_notes.append(credit_notes_item)

        paid_at = self.paid_at.isoformat()

        issued_at = self.issued_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "number": number,
                "order_id": order_id,
                "user_id": user_id,
                "package_id": package_id,
                "description": description,
                "credits": credits_,
                "amount": amount,
                "provider": provider,
                "provider_payment_id": provider_payment_id,
                "status": status,
                "refunded": refunded,
                "credit_notes": credit_notes,
                "paid_at": paid_at,
                "issued_at": issued_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.credit_note_ref import CreditNoteRef
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        number = d.pop("number")

        order_id = d.pop("order_id")

        user_id = d.pop("user_id")

        def _parse_package_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        package_id = _parse_package_id(d.pop("package_id"))

        description = d.pop("description")

        credits_ = d.pop("credits")

        amount = MoneyOut.from_dict(d.pop("amount"))

        provider = d.pop("provider")

        def _parse_provider_payment_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        provider_payment_id = _parse_provider_payment_id(d.pop("provider_payment_id"))

        status = d.pop("status")

        refunded = MoneyOut.from_dict(d.pop("refunded"))

        credit_notes = []
        _credit_notes = d.pop("credit_notes")
        for credit_notes_item_data in _credit_notes:
            credit_notes_item = CreditNoteRef.from_dict(credit_notes_item_data)

            credit_notes.append(credit_notes_item)

        paid_at = datetime.datetime.fromisoformat(d.pop("paid_at"))

        issued_at = datetime.datetime.fromisoformat(d.pop("issued_at"))

        invoice_out = cls(
            id=id,
            number=number,
            order_id=order_id,
            user_id=user_id,
            package_id=package_id,
            description=description,
            credits_=credits_,
            amount=amount,
            provider=provider,
            provider_payment_id=provider_payment_id,
            status=status,
            refunded=refunded,
            credit_notes=credit_notes,
            paid_at=paid_at,
            issued_at=issued_at,
        )

        invoice_out.additional_properties = d
        return invoice_out

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
