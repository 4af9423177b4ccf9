from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="SpendRequest")


@_attrs_define
class SpendRequest:
    """
    Attributes:
        credits_ (int): credits to spend, a positive integer
        reason (str): what the credits pay for
    """

    credits_: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        credits_ = self.credits_

        reason = self.reason

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "credits": credits_,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credits_ = d.pop("credits")

        reason = d.pop("reason")

        spend_request = cls(
            credits_=credits_,
            reason=reason,
        )

        return spend_request
