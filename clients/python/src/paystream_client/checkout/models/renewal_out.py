from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="RenewalOut")


@_attrs_define
class RenewalOut:
    """The next period of a plan paid without recurring charges.

    Attributes:
        plan_id (str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        opens_at (datetime.datetime): from when it can be paid (the reminder is sent)
        due_at (datetime.datetime): when the current period ends
        grace_ends_at (datetime.datetime): unpaid, the plan drops to the free plan then
        paid (bool):
    """

    plan_id: str
    amount: MoneyOut
    opens_at: datetime.datetime
    due_at: datetime.datetime
    grace_ends_at: datetime.datetime
    paid: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        plan_id = self.plan_id

        amount = self.amount.to_dict()

        opens_at = self.opens_at.isoformat()

        due_at = self.due_at.isoformat()

        grace_ends_at = self.grace_ends_at.isoformat()

        paid = self.paid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "plan_id": plan_id,
                "amount": amount,
                "opens_at": opens_at,
                "due_at": due_at,
                "grace_ends_at": grace_ends_at,
                "paid": paid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        plan_id = d.pop("plan_id")

        amount = MoneyOut.from_dict(d.pop("amount"))

        opens_at = datetime.datetime.fromisoformat(d.pop("opens_at"))

        due_at = datetime.datetime.fromisoformat(d.pop("due_at"))

        grace_ends_at = datetime.datetime.fromisoformat(d.pop("grace_ends_at"))

        paid = d.pop("paid")

        renewal_out = cls(
            plan_id=plan_id,
            amount=amount,
            opens_at=opens_at,
            due_at=due_at,
            grace_ends_at=grace_ends_at,
            paid=paid,
        )

        renewal_out.additional_properties = d
        return renewal_out

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
