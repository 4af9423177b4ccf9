from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hold_out_status import HoldOutStatus, check_hold_out_status

if TYPE_CHECKING:
    from ..models.lot_amount_out import LotAmountOut


T = TypeVar("T", bound="HoldOut")


@_attrs_define
class HoldOut:
    """
    Attributes:
        hold_id (UUID):
        user_id (str):
        unit (str):
        credits_ (int): credits held when the hold was placed
        captured (int):
        released (int):
        status (HoldOutStatus): open; captured; released; expired (its time ran out before a capture)
        reason (str):
        expires_at (datetime.datetime):
        created_at (datetime.datetime):
        settled_at (datetime.datetime | None):
        lots (list[LotAmountOut]): the lots it holds credits of
    """

    hold_id: UUID
    user_id: str
    unit: str
    credits_: int
    captured: int
    released: int
    status: HoldOutStatus
    reason: str
    expires_at: datetime.datetime
    created_at: datetime.datetime
    settled_at: datetime.datetime | None
    lots: list[LotAmountOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hold_id = str(self.hold_id)

        user_id = self.user_id

        unit = self.unit

        credits_ = self.credits_

        captured = self.captured

        released = self.released

        status: str = self.status

        reason = self.reason

        expires_at = self.expires_at.isoformat()

        created_at = self.created_at.isoformat()

        settled_at: str | None
        if isinstance(self.settled_at, datetime.datetime):
            settled_at = self.settled_at.isoformat()
        else:
            settled_at = self.settled_at

        lots = []
        for lots_item_data in self.lots:
            lots_item = lots_item_data.to_dict()
            lots.append(lots_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "hold_id": hold_id,
                "user_id": user_id,
                "unit": unit,
                "credits": credits_,
                "captured": captured,
                "released": released,
                "status": status,
                "reason": reason,
                "expires_at": expires_at,
                "created_at": created_at,
                "settled_at": settled_at,
                "lots": lots,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lot_amount_out import LotAmountOut

        d = dict(src_dict)
        hold_id = UUID(d.pop("hold_id"))

        user_id = d.pop("user_id")

        unit = d.pop("unit")

        credits_ = d.pop("credits")

        captured = d.pop("captured")

        released = d.pop("released")

        status = check_hold_out_status(d.pop("status"))

        reason = d.pop("reason")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_settled_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                settled_at_type_0 = datetime.datetime.fromisoformat(data)

                return settled_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        settled_at = _parse_settled_at(d.pop("settled_at"))

        lots = []
        _lots = d.pop("lots")
        for lots_item_data in _lots:
            lots_item = LotAmountOut.from_dict(lots_item_data)

            lots.append(lots_item)

        hold_out = cls(
            hold_id=hold_id,
            user_id=user_id,
            unit=unit,
            credits_=credits_,
            captured=captured,
            released=released,
            status=status,
            reason=reason,
            expires_at=expires_at,
            created_at=created_at,
            settled_at=settled_at,
            lots=lots,
        )

        hold_out.additional_properties = d
        return hold_out

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
