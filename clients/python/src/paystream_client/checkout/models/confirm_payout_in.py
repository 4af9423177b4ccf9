from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ConfirmPayoutIn")


@_attrs_define
class ConfirmPayoutIn:
    """
    Attributes:
        reference (str): The payout's reference, e.g. the TRON txid.
    """

    reference: str

    def to_dict(self) -> dict[str, Any]:
        reference = self.reference

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "reference": reference,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reference = d.pop("reference")

        confirm_payout_in = cls(
            reference=reference,
        )

        return confirm_payout_in
