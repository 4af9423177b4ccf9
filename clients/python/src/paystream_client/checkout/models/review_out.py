from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.decision import Decision, check_decision
from ..models.review_status import ReviewStatus, check_review_status

if TYPE_CHECKING:
    from ..models.review_out_details import ReviewOutDetails


T = TypeVar("T", bound="ReviewOut")


@_attrs_define
class ReviewOut:
    """
    Attributes:
        review_id (str):
        order_id (None | str): null: the payment names no order of ours
        user_id (None | str):
        provider (str):
        provider_payment_id (None | str):
        provider_event_id (str):
        amount_minor (int): what the provider says was paid, in minor units
        currency (str):
        reasons (list[str]): unknown_order, amount_mismatch, currency_mismatch, user_mismatch, credits_mismatch,
            package_mismatch, duplicate_payment, overpaid
        details (ReviewOutDetails): what the order says against what was paid
        blocking (bool): true: the order waits in needs_review, nothing granted
        status (ReviewStatus):
        allowed_decisions (list[Decision]):
        decided_by (None | str):
        decided_at (datetime.datetime | None):
        decision_reason (None | str):
        refund_id (None | str):
        created_at (datetime.datetime):
    """

    review_id: str
    order_id: str | None
    user_id: str | None
    provider: str
    provider_payment_id: str | None
    provider_event_id: str
    amount_minor: int
    currency: str
    reasons: list[str]
    details: ReviewOutDetails
    blocking: bool
    status: ReviewStatus
    allowed_decisions: list[Decision]
    decided_by: str | None
    decided_at: datetime.datetime | None
    decision_reason: str | None
    refund_id: str | None
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        review_id = self.review_id

        order_id: str | None
        order_id = self.order_id

        user_id: str | None
        user_id = self.user_id

        provider = self.provider

        provider_payment_id: str | None
        provider_payment_id = self.provider_payment_id

        provider_event_id = self.provider_event_id

        amount_minor = self.amount_minor

        currency = self.currency

        reasons = self.reasons

        details = self.details.to_dict()

        blocking = self.blocking

        status: str = self.status

        allowed_decisions = []
        for allowed_decisions_item_data in self.allowed_decisions:
            allowed_decisions_item: str = allowed_decisions_item_data
            allowed_decisions.append(allowed_decisions_item)

        decided_by: str | None
        decided_by = self.decided_by

        decided_at: str | None
        if isinstance(self.decided_at, datetime.datetime):
            decided_at = self.decided_at.isoformat()
        else:
            decided_at = self.decided_at

        decision_reason: str | None
        decision_reason = self.decision_reason

        refund_id: str | None
        refund_id = self.refund_id

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "review_id": review_id,
                "order_id": order_id,
                "user_id": user_id,
                "provider": provider,
                "provider_payment_id": provider_payment_id,
                "provider_event_id": provider_event_id,
                "amount_minor": amount_minor,
                "currency": currency,
                "reasons": reasons,
                "details": details,
                "blocking": blocking,
                "status": status,
                "allowed_decisions": allowed_decisions,
                "decided_by": decided_by,
                "decided_at": decided_at,
                "decision_reason": decision_reason,
                "refund_id": refund_id,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.review_out_details import ReviewOutDetails

        d = dict(src_dict)
        review_id = d.pop("review_id")

        def _parse_order_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        order_id = _parse_order_id(d.pop("order_id"))

        def _parse_user_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        user_id = _parse_user_id(d.pop("user_id"))

        provider = d.pop("provider")

        def _parse_provider_payment_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        provider_payment_id = _parse_provider_payment_id(d.pop("provider_payment_id"))

        provider_event_id = d.pop("provider_event_id")

        amount_minor = d.pop("amount_minor")

        currency = d.pop("currency")

        reasons = cast(list[str], d.pop("reasons"))

        details = ReviewOutDetails.from_dict(d.pop("details"))

        blocking = d.pop("blocking")

        status = check_review_status(d.pop("status"))

        allowed_decisions = []
        _allowed_decisions = d.pop("allowed_decisions")
        for allowed_decisions_item_data in _allowed_decisions:
            allowed_decisions_item = check_decision(allowed_decisions_item_data)

            allowed_decisions.append(allowed_decisions_item)

        def _parse_decided_by(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        decided_by = _parse_decided_by(d.pop("decided_by"))

        def _parse_decided_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decided_at_type_0 = datetime.datetime.fromisoformat(data)

                return decided_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        decided_at = _parse_decided_at(d.pop("decided_at"))

        def _parse_decision_reason(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        decision_reason = _parse_decision_reason(d.pop("decision_reason"))

        def _parse_refund_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        refund_id = _parse_refund_id(d.pop("refund_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        review_out = cls(
            review_id=review_id,
            order_id=order_id,
            user_id=user_id,
            provider=provider,
            provider_payment_id=provider_payment_id,
            provider_event_id=provider_event_id,
            amount_minor=amount_minor,
            currency=currency,
            reasons=reasons,
            details=details,
            blocking=blocking,
            status=status,
            allowed_decisions=allowed_decisions,
            decided_by=decided_by,
            decided_at=decided_at,
            decision_reason=decision_reason,
            refund_id=refund_id,
            created_at=created_at,
        )

        review_out.additional_properties = d
        return review_out

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
