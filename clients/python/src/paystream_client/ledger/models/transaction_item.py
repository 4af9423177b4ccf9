from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transaction_item_kind import TransactionItemKind, check_transaction_item_kind

T = TypeVar("T", bound="TransactionItem")


@_attrs_define
class TransactionItem:
    """
    Attributes:
        id (UUID):
        kind (TransactionItemKind): revoke: credits revoked for a refund
        credits_ (int): signed: positive for a grant, negative for a spend or a revoke
        balance_after (int):
        reason (str):
        order_id (None | str):
        refund_key (None | str): the refund a revoke took credits back for
        created_at (datetime.datetime):
    """

    id: UUID
    kind: TransactionItemKind
    credits_: int
    balance_after: int
    reason: str
    order_id: str | None
    refund_key: str | None
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        kind: str = self.kind

        credits_ = self.credits_

        balance_after = self.balance_after

        reason = self.reason

        order_id: str | None
        order_id = self.order_id

        refund_key: str | None
        refund_key = self.refund_key

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "credits": credits_,
                "balance_after": balance_after,
                "reason": reason,
                "order_id": order_id,
                "refund_key": refund_key,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        kind = check_transaction_item_kind(d.pop("kind"))

        credits_ = d.pop("credits")

        balance_after = d.pop("balance_after")

        reason = d.pop("reason")

        def _parse_order_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        order_id = _parse_order_id(d.pop("order_id"))

        def _parse_refund_key(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        refund_key = _parse_refund_key(d.pop("refund_key"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        transaction_item = cls(
            id=id,
            kind=kind,
            credits_=credits_,
            balance_after=balance_after,
            reason=reason,
            order_id=order_id,
            refund_key=refund_key,
            created_at=created_at,
        )

        transaction_item.additional_properties = d
        return transaction_item

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
