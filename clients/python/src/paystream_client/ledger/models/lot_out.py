from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.lot_out_status import LotOutStatus, check_lot_out_status

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="LotOut")


@_attrs_define
class LotOut:
    """
    Attributes:
        id (UUID):
        unit (str):
        source (str):
        status (LotOutStatus):
        credits_ (int): granted
        remaining (int): not consumed, expired, voided or revoked (held included)
        held (int):
        consumed (int):
        expired (int):
        voided (int):
        revoked (int):
        effective_at (datetime.datetime):
        expires_at (datetime.datetime | None):
        validity_rule (str): an ISO 8601 duration ("P6M"), "fixed" or "none"
        priority (int):
        cost (MoneyOut | None): what the lot cost; none for free credits
        order_id (None | str):
        transaction_id (UUID):
        created_at (datetime.datetime):
        voided_at (datetime.datetime | None):
    """

    id: UUID
    unit: str
    source: str
    status: LotOutStatus
    credits_: int
    remaining: int
    held: int
    consumed: int
    expired: int
    voided: int
    revoked: int
    effective_at: datetime.datetime
    expires_at: datetime.datetime | None
    validity_rule: str
    priority: int
    cost: MoneyOut | None
    order_id: str | None
    transaction_id: UUID
    created_at: datetime.datetime
    voided_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_out import MoneyOut

        id = str(self.id)

        unit = self.unit

        source = self.source

        status: str = self.status

        credits_ = self.credits_

        remaining = self.remaining

        held = self.held

        consumed = self.consumed

        expired = self.expired

        voided = self.voided

        revoked = self.revoked

        effective_at = self.effective_at.isoformat()

        expires_at: str | None
        if isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        validity_rule = self.validity_rule

        priority = self.priority

        cost: dict[str, Any] | None
        if isinstance(self.cost, MoneyOut):
            cost = self.cost.to_dict()
        else:
            cost = self.cost

        order_id: str | None
        order_id = self.order_id

        transaction_id = str(self.transaction_id)

        created_at = self.created_at.isoformat()

        voided_at: str | None
        if isinstance(self.voided_at, datetime.datetime):
            voided_at = self.voided_at.isoformat()
        else:
            voided_at = self.voided_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "unit": unit,
                "source": source,
                "status": status,
                "credits": credits_,
                "remaining": remaining,
                "held": held,
                "consumed": consumed,
                "expired": expired,
                "voided": voided,
                "revoked": revoked,
                "effective_at": effective_at,
                "expires_at": expires_at,
                "validity_rule": validity_rule,
                "priority": priority,
                "cost": cost,
                "order_id": order_id,
                "transaction_id": transaction_id,
                "created_at": created_at,
                "voided_at": voided_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        unit = d.pop("unit")

        source = d.pop("source")

        status = check_lot_out_status(d.pop("status"))

        credits_ = d.pop("credits")

        remaining = d.pop("remaining")

        held = d.pop("held")

        consumed = d.pop("consumed")

        expired = d.pop("expired")

        voided = d.pop("voided")

        revoked = d.pop("revoked")

        effective_at = datetime.datetime.fromisoformat(d.pop("effective_at"))

        def _parse_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expires_at = _parse_expires_at(d.pop("expires_at"))

        validity_rule = d.pop("validity_rule")

        priority = d.pop("priority")

        def _parse_cost(data: object) -> MoneyOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                cost_type_0 = MoneyOut.from_dict(data)

                return cost_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyOut | None, data)

        cost = _parse_cost(d.pop("cost"))

        def _parse_order_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        order_id = _parse_order_id(d.pop("order_id"))

        transaction_id = UUID(d.pop("transaction_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_voided_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                voided_at_type_0 = datetime.datetime.fromisoformat(data)

                return voided_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        voided_at = _parse_voided_at(d.pop("voided_at"))

        lot_out = cls(
            id=id,
            unit=unit,
            source=source,
            status=status,
            credits_=credits_,
            remaining=remaining,
            held=held,
            consumed=consumed,
            expired=expired,
            voided=voided,
            revoked=revoked,
            effective_at=effective_at,
            expires_at=expires_at,
            validity_rule=validity_rule,
            priority=priority,
            cost=cost,
            order_id=order_id,
            transaction_id=transaction_id,
            created_at=created_at,
            voided_at=voided_at,
        )

        lot_out.additional_properties = d
        return lot_out

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
