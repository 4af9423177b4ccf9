from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.mismatched_order import MismatchedOrder
    from ..models.open_reviews import OpenReviews
    from ..models.usdt_review import UsdtReview


T = TypeVar("T", bound="NeedsReview")


@_attrs_define
class NeedsReview:
    """
    Attributes:
        open_reviews (list[OpenReviews]):
        amount_mismatch (list[MismatchedOrder]):
        usdt_transfers (list[UsdtReview]):
    """

    open_reviews: list[OpenReviews]
    amount_mismatch: list[MismatchedOrder]
    usdt_transfers: list[UsdtReview]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        open_reviews = []
        for open_reviews_item_data in self.open_reviews:
            open_reviews_item = open_reviews_item_data.to_dict()
            open_reviews.append(open_reviews_item)

        amount_mismatch = []
        for amount_mismatch_item_data in self.amount_mismatch:
            amount_mismatch_item = amount_mismatch_item_data.to_dict()
            amount_mismatch.append(amount_mismatch_item)

        usdt_transfers = []
        for usdt_transfers_item_data in self.usdt_transfers:
            usdt_transfers_item = usdt_transfers_item_data.to_dict()
            usdt_transfers.append(usdt_transfers_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "open_reviews": open_reviews,
                "amount_mismatch": amount_mismatch,
                "usdt_transfers": usdt_transfers,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.mismatched_order import MismatchedOrder
        from ..models.open_reviews import OpenReviews
        from ..models.usdt_review import UsdtReview

        d = dict(src_dict)
        open_reviews = []
        _open_reviews = d.pop("open_reviews")
        for open_reviews_item_data in _open_reviews:
            open_reviews_item = OpenReviews.from_dict(open_reviews_item_data)

            open_reviews.append(open_reviews_item)

        amount_mismatch = []
        _amount_mismatch = d.pop("amount_mismatch")
        for amount_mismatch_item_data in _amount_mismatch:
            amount_mismatch_item = MismatchedOrder.from_dict(amount_mismatch_item_data)

            amount_mismatch.append(amount_mismatch_item)

        usdt_transfers = []
        _usdt_transfers = d.pop("usdt_transfers")
        for usdt_transfers_item_data in _usdt_transfers:
            usdt_transfers_item = UsdtReview.from_dict(usdt_transfers_item_data)

            usdt_transfers.append(usdt_transfers_item)

        needs_review = cls(
            open_reviews=open_reviews,
            amount_mismatch=amount_mismatch,
            usdt_transfers=usdt_transfers,
        )

        needs_review.additional_properties = d
        return needs_review

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
