from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="CaptureIn")


@_attrs_define
class CaptureIn:
    """
    Attributes:
        credits_ (int): what to spend: at most what is held
    """

    credits_: int

    def to_dict(self) -> dict[str, Any]:
        credits_ = self.credits_

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "credits": credits_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        credits_ = d.pop("credits")

        capture_in = cls(
            credits_=credits_,
        )

        return capture_in
