from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transaction_item_kind import TransactionItemKind, check_transaction_item_kind

if TYPE_CHECKING:
    from ..models.lot_amount_out import LotAmountOut


T = TypeVar("T", bound="TransactionItem")


@_attrs_define
class TransactionItem:
    """
    Attributes:
        id (UUID):
        kind (TransactionItemKind): grant (a paid order's lot), adjustment (an operator's grant), spend, hold, capture
            (held credits spent), release (held credits back), expire, void (an operator voided a lot), revoke (taken back
            for a refund)
        unit (str):
        credits_ (int): signed: + for grant, adjustment, release; - for spend, hold, capture, expire, void, revoke
        balance_after (int): credits available in the unit after it
        reason (str):
        order_id (None | str):
        refund_key (None | str): the refund a revoke took credits back for
        hold_id (None | UUID):
        actor (None | str): the operator who did it (adjustment, void)
        lots (list[LotAmountOut]): the lots it moved credits of
        created_at (datetime.datetime):
    """

    id: UUID
    kind: TransactionItemKind
    unit: str
    credits_: int
    balance_after: int
    reason: str
    order_id: str | None
    refund_key: str | None
    hold_id: UUID | None
    actor: str | None
    lots: list[LotAmountOut]
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        kind: str = self.kind

        unit = self.unit

        credits_ = self.credits_

        balance_after = self.balance_after

        reason = self.reason

        order_id: str | None
        order_id = self.order_id

        refund_key: str | None
        refund_key = self.refund_key

        hold_id: str | None
        if isinstance(self.hold_id, UUID):
            hold_id = str(self.hold_id)
        else:
            hold_id = self.hold_id

        actor: str | None
        actor = self.actor

        lots = []
        for lots_item_data in self.lots:
            lots_item = lots_item_data.to_dict()
            lots.append(lots_item)

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "unit": unit,
                "credits": credits_,
                "balance_after": balance_after,
                "reason": reason,
                "order_id": order_id,
                "refund_key": refund_key,
                "hold_id": hold_id,
                "actor": actor,
                "lots": lots,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lot_amount_out import LotAmountOut

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        kind = check_transaction_item_kind(d.pop("kind"))

        unit = d.pop("unit")

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

        def _parse_hold_id(data: object) -> UUID | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                hold_id_type_0 = UUID(data)

                return hold_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        hold_id = _parse_hold_id(d.pop("hold_id"))

        def _parse_actor(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        actor = _parse_actor(d.pop("actor"))

        lots = []
        _lots = d.pop("lots")
        for lots_item_data in _lots:
            lots_item = LotAmountOut.from_dict(lots_item_data)

            lots.append(lots_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        transaction_item = cls(
            id=id,
            kind=kind,
            unit=unit,
            credits_=credits_,
            balance_after=balance_after,
            reason=reason,
            order_id=order_id,
            refund_key=refund_key,
            hold_id=hold_id,
            actor=actor,
            lots=lots,
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
