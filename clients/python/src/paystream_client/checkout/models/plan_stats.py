from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PlanStats")


@_attrs_define
class PlanStats:
    """
    Attributes:
        plan_id (str):
        active (int): subscriptions on this plan now, status active
        past_due (int): subscriptions on this plan now whose renewal failed
        orders (int): orders for this plan (subscribe, renew, upgrade) created in the period
        paid (int): of those, paid (refunded since or not)
    """

    plan_id: str
    active: int
    past_due: int
    orders: int
    paid: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        plan_id = self.plan_id

        active = self.active

        past_due = self.past_due

        orders = self.orders

        paid = self.paid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "plan_id": plan_id,
                "active": active,
                "past_due": past_due,
                "orders": orders,
                "paid": paid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        plan_id = d.pop("plan_id")

        active = d.pop("active")

        past_due = d.pop("past_due")

        orders = d.pop("orders")

        paid = d.pop("paid")

        plan_stats = cls(
            plan_id=plan_id,
            active=active,
            past_due=past_due,
            orders=orders,
            paid=paid,
        )

        plan_stats.additional_properties = d
        return plan_stats

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
