from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="UnmatchedRefundOut")


@_attrs_define
class UnmatchedRefundOut:
    """Money a provider reported going back that checkout could not apply, and why.

    Attributes:
        id (str):
        provider (str):
        provider_refund_id (str):
        provider_payment_id (None | str):
        order_id (None | str): The order the report named, if it named one.
        user_id (None | str):
        amount (MoneyOut | None): The refund's own amount, when reported.
        refunded_total (MoneyOut | None): The payment's cumulative refunded total, when that is all that was reported.
        reason (str): Why checkout could not apply it.
        refunded_at (datetime.datetime):
        created_at (datetime.datetime):
        resolved_at (datetime.datetime | None): When it was applied after all.
    """

    id: str
    provider: str
    provider_refund_id: str
    provider_payment_id: str | None
    order_id: str | None
    user_id: str | None
    amount: MoneyOut | None
    refunded_total: MoneyOut | None
    reason: str
    refunded_at: datetime.datetime
    created_at: datetime.datetime
    resolved_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_out import MoneyOut

        id = self.id

        provider = self.provider

        provider_refund_id = self.provider_refund_id

        provider_payment_id: str | None
        provider_payment_id = self.provider_payment_id

        order_id: str | None
        order_id = self.order_id

        user_id: str | None
        user_id = self.user_id

        amount: dict[str, Any] | None
        if isinstance(self.amount, MoneyOut):
            amount = self.amount.to_dict()
        else:
            amount = self.amount

        refunded_total: dict[str, Any] | None
        if isinstance(self.refunded_total, MoneyOut):
            refunded_total = self.refunded_total.to_dict()
        else:
            refunded_total = self.refunded_total

        reason = self.reason

        refunded_at = self.refunded_at.isoformat()

        created_at = self.created_at.isoformat()

        resolved_at: str | None
        if isinstance(self.resolved_at, datetime.datetime):
            resolved_at = self.resolved_at.isoformat()
        else:
            resolved_at = self.resolved_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "provider": provider,
                "provider_refund_id": provider_refund_id,
                "provider_payment_id": provider_payment_id,
                "order_id": order_id,
                "user_id": user_id,
                "amount": amount,
                "refunded_total": refunded_total,
                "reason": reason,
                "refunded_at": refunded_at,
                "created_at": created_at,
                "resolved_at": resolved_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        id = d.pop("id")

        provider = d.pop("provider")

        provider_refund_id = d.pop("provider_refund_id")

        def _parse_provider_payment_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        provider_payment_id = _parse_provider_payment_id(d.pop("provider_payment_id"))

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

        def _parse_amount(data: object) -> MoneyOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                amount_type_0 = MoneyOut.from_dict(data)

                return amount_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyOut | None, data)

        amount = _parse_amount(d.pop("amount"))

        def _parse_refunded_total(data: object) -> MoneyOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                refunded_total_type_0 = MoneyOut.from_dict(data)

                return refunded_total_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyOut | None, data)

        refunded_total = _parse_refunded_total(d.pop("refunded_total"))

        reason = d.pop("reason")

        refunded_at = datetime.datetime.fromisoformat(d.pop("refunded_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_resolved_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                resolved_at_type_0 = datetime.datetime.fromisoformat(data)

                return resolved_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        resolved_at = _parse_resolved_at(d.pop("resolved_at"))

        unmatched_refund_out = cls(
            id=id,
            provider=provider,
            provider_refund_id=provider_refund_id,
            provider_payment_id=provider_payment_id,
            order_id=order_id,
            user_id=user_id,
            amount=amount,
            refunded_total=refunded_total,
            reason=reason,
            refunded_at=refunded_at,
            created_at=created_at,
            resolved_at=resolved_at,
        )

        unmatched_refund_out.additional_properties = d
        return unmatched_refund_out

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
