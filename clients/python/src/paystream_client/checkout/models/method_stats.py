from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MethodStats")


@_attrs_define
class MethodStats:
    """
    Attributes:
        payment_method (str):
        created (int):
        paid (int): money taken (refunded since or not)
        failed (int):
        cancelled (int):
        expired (int):
        pending (int):
        needs_review (int): a payment arrived that waits for an operator
        success_rate (float | None): paid / (created - still pending or in review); null when nothing has ended yet
        median_seconds_to_paid (float | None):
        p95_seconds_to_paid (float | None):
    """

    payment_method: str
    created: int
    paid: int
    failed: int
    cancelled: int
    expired: int
    pending: int
    needs_review: int
    success_rate: float | None
    median_seconds_to_paid: float | None
    p95_seconds_to_paid: float | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        payment_method = self.payment_method

        created = self.created

        paid = self.paid

        failed = self.failed

        cancelled = self.cancelled

        expired = self.expired

        pending = self.pending

        needs_review = self.needs_review

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
                "payment_method": payment_method,
                "created": created,
                "paid": paid,
                "failed": failed,
                "cancelled": cancelled,
                "expired": expired,
                "pending": pending,
                "needs_review": needs_review,
                "success_rate": success_rate,
                "median_seconds_to_paid": median_seconds_to_paid,
                "p95_seconds_to_paid": p95_seconds_to_paid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        payment_method = d.pop("payment_method")

        created = d.pop("created")

        paid = d.pop("paid")

        failed = d.pop("failed")

        cancelled = d.pop("cancelled")

        expired = d.pop("expired")

        pending = d.pop("pending")

        needs_review = d.pop("needs_review")

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

        method_stats = cls(
            payment_method=payment_method,
            created=created,
            paid=paid,
            failed=failed,
            cancelled=cancelled,
            expired=expired,
            pending=pending,
            needs_review=needs_review,
            success_rate=success_rate,
            median_seconds_to_paid=median_seconds_to_paid,
            p95_seconds_to_paid=p95_seconds_to_paid,
        )

        method_stats.additional_properties = d
        return method_stats

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
