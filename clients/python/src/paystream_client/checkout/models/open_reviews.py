from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="OpenReviews")


@_attrs_define
class OpenReviews:
    """
    Attributes:
        reason (str): see GET /v1/admin/reviews
        blocking (bool): true: the order waits, nothing granted
        reviews (int):
        oldest_at (datetime.datetime):
    """

    reason: str
    blocking: bool
    reviews: int
    oldest_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        reason = self.reason

        blocking = self.blocking

        reviews = self.reviews

        oldest_at = self.oldest_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "reason": reason,
                "blocking": blocking,
                "reviews": reviews,
                "oldest_at": oldest_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reason = d.pop("reason")

        blocking = d.pop("blocking")

        reviews = d.pop("reviews")

        oldest_at = datetime.datetime.fromisoformat(d.pop("oldest_at"))

        open_reviews = cls(
            reason=reason,
            blocking=blocking,
            reviews=reviews,
            oldest_at=oldest_at,
        )

        open_reviews.additional_properties = d
        return open_reviews

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
