from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DayStats")


@_attrs_define
class DayStats:
    """
    Attributes:
        day (datetime.date):
        payment_method (str):
        created (int):
        paid (int):
        success_rate (float | None):
        median_seconds_to_paid (float | None):
        p95_seconds_to_paid (float | None):
    """

    day: datetime.date
    payment_method: str
    created: int
    paid: int
    success_rate: float | None
    median_seconds_to_paid: float | None
    p95_seconds_to_paid: float | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        day = self.day.isoformat()

        payment_method = self.payment_method

        created = self.created

        paid = self.paid

        success_rate: float | None
        success_rate = self.success_rate

        median_seconds_to_paid: float | None
        median_seconds_to_paid = self.median_seconds_to_paid

        p95_seconds_to_paid: float | None
        p95_seconds_to_paid = self.p95_seconds_to_paid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "day": day,
                "payment_method": payment_method,
                "created": created,
                "paid": paid,
                "success_rate": success_rate,
                "median_seconds_to_paid": median_seconds_to_paid,
                "p95_seconds_to_paid": p95_seconds_to_paid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        day = datetime.date.fromisoformat(d.pop("day"))

        payment_method = d.pop("payment_method")

        created = d.pop("created")

        paid = d.pop("paid")

        def _parse_success_rate(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        success_rate = _parse_success_rate(d.pop("success_rate"))

        def _parse_median_seconds_to_paid(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        median_seconds_to_paid = _parse_median_seconds_to_paid(d.pop("median_seconds_to_paid"))

        def _parse_p95_seconds_to_paid(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        p95_seconds_to_paid = _parse_p95_seconds_to_paid(d.pop("p95_seconds_to_paid"))

        day_stats = cls(
            day=day,
            payment_method=payment_method,
            created=created,
            paid=paid,
            success_rate=success_rate,
            median_seconds_to_paid=median_seconds_to_paid,
            p95_seconds_to_paid=p95_seconds_to_paid,
        )

        day_stats.additional_properties = d
        return day_stats

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
