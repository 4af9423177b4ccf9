from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.money_in import MoneyIn


T = TypeVar("T", bound="CreateRefundIn")


@_attrs_define
class CreateRefundIn:
    """
    Attributes:
        order_id (str):
        reason (str):
        amount (MoneyIn | None | Unset): Part of the payment to return; all that is left by default.
        provider_payment_id (None | str | Unset): The payment to return, when the order was paid twice (a second
            payment: see the order's reviews); the order's own payment by default. Each payment is refunded against its own
            amount.
    """

    order_id: str
    reason: str
    amount: MoneyIn | Unset | None = UNSET
    provider_payment_id: str | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_in import MoneyIn

        order_id = self.order_id

        reason = self.reason

        amount: dict[str, Any] | Unset | None
        if isinstance(self.amount, Unset):
            amount = UNSET
        elif isinstance(self.amount, MoneyIn):
            amount = self.amount.to_dict()
        else:
            amount = self.amount

        provider_payment_id: str | Unset | None
        if isinstance(self.provider_payment_id, Unset):
            provider_payment_id = UNSET
        else:
            provider_payment_id = self.provider_payment_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "order_id": order_id,
                "reason": reason,
            }
        )
        if amount is not UNSET:
            field_dict["amount"] = amount
        if provider_payment_id is not UNSET:
            field_dict["provider_payment_id"] = provider_payment_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_in import MoneyIn

        d = dict(src_dict)
        order_id = d.pop("order_id")

        reason = d.pop("reason")

        def _parse_amount(data: object) -> MoneyIn | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                amount_type_0 = MoneyIn.from_dict(data)

                return amount_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyIn | None | Unset, data)

        amount = _parse_amount(d.pop("amount", UNSET))

        def _parse_provider_payment_id(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        provider_payment_id = _parse_provider_payment_id(d.pop("provider_payment_id", UNSET))

        create_refund_in = cls(
            order_id=order_id,
            reason=reason,
            amount=amount,
            provider_payment_id=provider_payment_id,
        )

        return create_refund_in
