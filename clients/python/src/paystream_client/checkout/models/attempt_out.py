from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="AttemptOut")


@_attrs_define
class AttemptOut:
    """
    Attributes:
        attempt_id (str):
        unit (str):
        trigger (str):
        status (str):
        order_id (None | str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        tries (int):
        error_code (None | str):
        error (None | str):
        created_at (datetime.datetime):
    """

    attempt_id: str
    unit: str
    trigger: str
    status: str
    order_id: str | None
    amount: MoneyOut
    tries: int
    error_code: str | None
    error: str | None
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempt_id = self.attempt_id

        unit = self.unit

        trigger = self.trigger

        status = self.status

        order_id: str | None
        order_id = self.order_id

        amount = self.amount.to_dict()

        tries = self.tries

        error_code: str | None
        error_code = self.error_code

        error: str | None
        error = self.error

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempt_id": attempt_id,
                "unit": unit,
                "trigger": trigger,
                "status": status,
                "order_id": order_id,
                "amount": amount,
                "tries": tries,
                "error_code": error_code,
                "error": error,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        attempt_id = d.pop("attempt_id")

        unit = d.pop("unit")

        trigger = d.pop("trigger")

        status = d.pop("status")

        def _parse_order_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        order_id = _parse_order_id(d.pop("order_id"))

        amount = MoneyOut.from_dict(d.pop("amount"))

        tries = d.pop("tries")

        def _parse_error_code(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        error_code = _parse_error_code(d.pop("error_code"))

        def _parse_error(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        attempt_out = cls(
            attempt_id=attempt_id,
            unit=unit,
            trigger=trigger,
            status=status,
            order_id=order_id,
            amount=amount,
            tries=tries,
            error_code=error_code,
            error=error,
            created_at=created_at,
        )

        attempt_out.additional_properties = d
        return attempt_out

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
