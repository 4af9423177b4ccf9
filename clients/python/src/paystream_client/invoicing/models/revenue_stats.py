from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.revenue_row import RevenueRow
    from ..models.revenue_total import RevenueTotal


T = TypeVar("T", bound="RevenueStats")


@_attrs_define
class RevenueStats:
    """
    Attributes:
        since (datetime.date):
        until (datetime.date):
        days (list[RevenueRow]):
        totals (list[RevenueTotal]): per provider and currency over the period
    """

    since: datetime.date
    until: datetime.date
    days: list[RevenueRow]
    totals: list[RevenueTotal]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        since = self.since.isoformat()

        until = self.until.isoformat()

        days = []
        for days_item_data in self.days:
            days_item = days_item_data.to_dict()
            days.append(days_item)

        totals = []
        for totals_item_data in self.totals:
            totals_item = totals_item_data.to_dict()
            totals.append(totals_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "since": since,
                "until": until,
                "days": days,
                "totals": totals,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.revenue_row import RevenueRow
        from ..models.revenue_total import RevenueTotal

        d = dict(src_dict)
        since = datetime.date.fromisoformat(d.pop("since"))

        until = datetime.date.fromisoformat(d.pop("until"))

        days = []
        _days = d.pop("days")
        for days_item_data in _days:
            days_item = RevenueRow.from_dict(days_item_data)

            days.append(days_item)

        totals = []
        _totals = d.pop("totals")
        for totals_item_data in _totals:
            totals_item = RevenueTotal.from_dict(totals_item_data)

            totals.append(totals_item)

        revenue_stats = cls(
            since=since,
            until=until,
            days=days,
            totals=totals,
        )

        revenue_stats.additional_properties = d
        return revenue_stats

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
