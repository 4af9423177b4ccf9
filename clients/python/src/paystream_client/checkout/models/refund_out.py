from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.refund_state import RefundState, check_refund_state
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="RefundOut")


@_attrs_define
class RefundOut:
    """
    Attributes:
        refund_id (str):
        order_id (str):
        user_id (str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        reason (str):
        status (RefundState):
        provider (str):
        provider_refund_id (None | str):
        failure_reason (None | str):
        payout_reference (None | str):
        created_at (datetime.datetime):
        succeeded_at (datetime.datetime | None):
        provider_payment_id (None | str | Unset): The second payment of the order it returns; null: the order's own
            payment.
    """

    refund_id: str
    order_id: str
    user_id: str
    amount: MoneyOut
    reason: str
    status: RefundState
    provider: str
    provider_refund_id: str | None
    failure_reason: str | None
    payout_reference: str | None
    created_at: datetime.datetime
    succeeded_at: datetime.datetime | None
    provider_payment_id: str | Unset | None = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        refund_id = self.refund_id

        order_id = self.order_id

        user_id = self.user_id

        amount = self.amount.to_dict()

        reason = self.reason

        status: str = self.status

        provider = self.provider

        provider_refund_id: str | None
        provider_refund_id = self.provider_refund_id

        failure_reason: str | None
        failure_reason = self.failure_reason

        payout_reference: str | None
        payout_reference = self.payout_reference

        created_at = self.created_at.isoformat()

        succeeded_at: str | None
        if isinstance(self.succeeded_at, datetime.datetime):
            succeeded_at = self.succeeded_at.isoformat()
        else:
            succeeded_at = self.succeeded_at

        provider_payment_id: str | Unset | None
        if isinstance(self.provider_payment_id, Unset):
            provider_payment_id = UNSET
        else:
            provider_payment_id = self.provider_payment_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "refund_id": refund_id,
                "order_id": order_id,
                "user_id": user_id,
                "amount": amount,
                "reason": reason,
                "status": status,
                "provider": provider,
                "provider_refund_id": provider_refund_id,
                "failure_reason": failure_reason,
                "payout_reference": payout_reference,
                "created_at": created_at,
                "succeeded_at": succeeded_at,
            }
        )
        if provider_payment_id is not UNSET:
            field_dict["provider_payment_id"] = provider_payment_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        refund_id = d.pop("refund_id")

        order_id = d.pop("order_id")

        user_id = d.pop("user_id")

        amount = MoneyOut.from_dict(d.pop("amount"))

        reason = d.pop("reason")

        status = check_refund_state(d.pop("status"))

        provider = d.pop("provider")

        def _parse_provider_refund_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        provider_refund_id = _parse_provider_refund_id(d.pop("provider_refund_id"))

        def _parse_failure_reason(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        failure_reason = _parse_failure_reason(d.pop("failure_reason"))

        def _parse_payout_reference(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        payout_reference = _parse_payout_reference(d.pop("payout_reference"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_succeeded_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                succeeded_at_type_0 = datetime.datetime.fromisoformat(data)

                return succeeded_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        succeeded_at = _parse_succeeded_at(d.pop("succeeded_at"))

        def _parse_provider_payment_id(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        provider_payment_id = _parse_provider_payment_id(d.pop("provider_payment_id", UNSET))

        refund_out = cls(
            refund_id=refund_id,
            order_id=order_id,
            user_id=user_id,
            amount=amount,
            reason=reason,
            status=status,
            provider=provider,
            provider_refund_id=provider_refund_id,
            failure_reason=failure_reason,
            payout_reference=payout_reference,
            created_at=created_at,
            succeeded_at=succeeded_at,
            provider_payment_id=provider_payment_id,
        )

        refund_out.additional_properties = d
        return refund_out

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
