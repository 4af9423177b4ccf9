from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="MismatchedOrder")


@_attrs_define
class MismatchedOrder:
    """
    Attributes:
        order_id (str):
        user_id (str):
        payment_method (str):
        status (str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        paid (MoneyOut | None):
        paid_at (datetime.datetime | None):
    """

    order_id: str
    user_id: str
    payment_method: str
    status: str
    amount: MoneyOut
    paid: MoneyOut | None
    paid_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_out import MoneyOut

        order_id = self.order_id

        user_id = self.user_id

        payment_method = self.payment_method

        status = self.status

        amount = self.amount.to_dict()

        paid: dict[str, Any] | None
        if isinstance(self.paid, MoneyOut):
            paid = self.paid.to_dict()
        else:
            paid = self.paid

        paid_at: str | None
        if isinstance(self.paid_at, datetime.datetime):
            paid_at = self.paid_at.isoformat()
        else:
            paid_at = self.paid_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "order_id": order_id,
                "user_id": user_id,
                "payment_method": payment_method,
                "status": status,
                "amount": amount,
                "paid": paid,
                "paid_at": paid_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        order_id = d.pop("order_id")

        user_id = d.pop("user_id")

        payment_method = d.pop("payment_method")

        status = d.pop("status")

        amount = MoneyOut.from_dict(d.pop("amount"))

        def _parse_paid(data: object) -> MoneyOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                paid_type_0 = MoneyOut.from_dict(data)

                return paid_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyOut | None, data)

        paid = _parse_paid(d.pop("paid"))

        def _parse_paid_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                paid_at_type_0 = datetime.datetime.fromisoformat(data)

                return paid_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        paid_at = _parse_paid_at(d.pop("paid_at"))

        mismatched_order = cls(
            order_id=order_id,
            user_id=user_id,
            payment_method=payment_method,
            status=status,
            amount=amount,
            paid=paid,
            paid_at=paid_at,
        )

        mismatched_order.additional_properties = d
        return mismatched_order

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
