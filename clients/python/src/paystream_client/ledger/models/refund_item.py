from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.refund_item_status import RefundItemStatus, check_refund_item_status

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="RefundItem")


@_attrs_define
class RefundItem:
    """A refund as the ledger saw it: what it owed back, revoked and could not revoke.

    Attributes:
        id (UUID):
        refund_key (str):
        order_id (str):
        user_id (str):
        refund_id (None | str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        reason (None | str):
        status (RefundItemStatus): pending: waiting for its order's grant; applied; rejected: can never apply
        unit (None | str): the unit of the order's lots this row is about
        credits_due (int | None): this refund's share of the grant
        credits_taken (int | None): revoked from the balance
        shortfall (int | None): due but already spent: not revoked
        balance_after (int | None):
        transaction_id (None | UUID): the revoke, when credits were revoked
        rejection (None | str):
        refunded_at (datetime.datetime):
        received_at (datetime.datetime):
        applied_at (datetime.datetime | None):
    """

    id: UUID
    refund_key: str
    order_id: str
    user_id: str
    refund_id: str | None
    amount: MoneyOut
    reason: str | None
    status: RefundItemStatus
    unit: str | None
    credits_due: int | None
    credits_taken: int | None
    shortfall: int | None
    balance_after: int | None
    transaction_id: UUID | None
    rejection: str | None
    refunded_at: datetime.datetime
    received_at: datetime.datetime
    applied_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        refund_key = self.refund_key

        order_id = self.order_id

        user_id = self.user_id

        refund_id: str | None
        refund_id = self.refund_id

        amount = self.amount.to_dict()

        reason: str | None
        reason = self.reason

        status: str = self.status

        unit: str | None
        unit = self.unit

        credits_due: int | None
        credits_due = self.credits_due

        credits_taken: int | None
        credits_taken = self.credits_taken

        shortfall: int | None
        shortfall = self.shortfall

        balance_after: int | None
        balance_after = self.balance_after

        transaction_id: str | None
        if isinstance(self.transaction_id, UUID):
            transaction_id = str(self.transaction_id)
        else:
            transaction_id = self.transaction_id

        rejection: str | None
        rejection = self.rejection

        refunded_at = self.refunded_at.isoformat()

        received_at = self.received_at.isoformat()

        applied_at: str | None
        if isinstance(self.applied_at, datetime.datetime):
            applied_at = self.applied_at.isoformat()
        else:
            applied_at = self.applied_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "refund_key": refund_key,
                "order_id": order_id,
                "user_id": user_id,
                "refund_id": refund_id,
                "amount": amount,
                "reason": reason,
                "status": status,
                "unit": unit,
                "credits_due": credits_due,
                "credits_taken": credits_taken,
                "shortfall": shortfall,
                "balance_after": balance_after,
                "transaction_id": transaction_id,
                "rejection": rejection,
                "refunded_at": refunded_at,
                "received_at": received_at,
                "applied_at": applied_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        refund_key = d.pop("refund_key")

        order_id = d.pop("order_id")

        user_id = d.pop("user_id")

        def _parse_refund_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        refund_id = _parse_refund_id(d.pop("refund_id"))

        amount = MoneyOut.from_dict(d.pop("amount"))

        def _parse_reason(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        status = check_refund_item_status(d.pop("status"))

        def _parse_unit(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        unit = _parse_unit(d.pop("unit"))

        def _parse_credits_due(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        credits_due = _parse_credits_due(d.pop("credits_due"))

        def _parse_credits_taken(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        credits_taken = _parse_credits_taken(d.pop("credits_taken"))

        def _parse_shortfall(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        shortfall = _parse_shortfall(d.pop("shortfall"))

        def _parse_balance_after(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        balance_after = _parse_balance_after(d.pop("balance_after"))

        def _parse_transaction_id(data: object) -> UUID | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                transaction_id_type_0 = UUID(data)

                return transaction_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        transaction_id = _parse_transaction_id(d.pop("transaction_id"))

        def _parse_rejection(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        rejection = _parse_rejection(d.pop("rejection"))

        refunded_at = datetime.datetime.fromisoformat(d.pop("refunded_at"))

        received_at = datetime.datetime.fromisoformat(d.pop("received_at"))

        def _parse_applied_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                applied_at_type_0 = datetime.datetime.fromisoformat(data)

                return applied_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        applied_at = _parse_applied_at(d.pop("applied_at"))

        refund_item = cls(
            id=id,
            refund_key=refund_key,
            order_id=order_id,
            user_id=user_id,
            refund_id=refund_id,
            amount=amount,
            reason=reason,
            status=status,
            unit=unit,
            credits_due=credits_due,
            credits_taken=credits_taken,
            shortfall=shortfall,
            balance_after=balance_after,
            transaction_id=transaction_id,
            rejection=rejection,
            refunded_at=refunded_at,
            received_at=received_at,
            applied_at=applied_at,
        )

        refund_item.additional_properties = d
        return refund_item

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
