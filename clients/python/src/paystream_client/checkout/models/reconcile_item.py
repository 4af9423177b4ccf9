from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.reconcile_item_kind import ReconcileItemKind, check_reconcile_item_kind

T = TypeVar("T", bound="ReconcileItem")


@_attrs_define
class ReconcileItem:
    """
    Attributes:
        kind (ReconcileItemKind):
        id (str):
        provider (None | str):
        created_at (datetime.datetime):
        attempts (int): questions asked so far (0: not asked yet)
        checked_at (datetime.datetime | None): when last asked
        next_check_at (datetime.datetime | None): null: due once old enough
        last_result (None | str): the provider's last answer (paid, open, failed, succeeded, pending, ...)
    """

    kind: ReconcileItemKind
    id: str
    provider: str | None
    created_at: datetime.datetime
    attempts: int
    checked_at: datetime.datetime | None
    next_check_at: datetime.datetime | None
    last_result: str | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kind: str = self.kind

        id = self.id

        provider: str | None
        provider = self.provider

        created_at = self.created_at.isoformat()

        attempts = self.attempts

        checked_at: str | None
        if isinstance(self.checked_at, datetime.datetime):
            checked_at = self.checked_at.isoformat()
        else:
            checked_at = self.checked_at

        next_check_at: str | None
        if isinstance(self.next_check_at, datetime.datetime):
            next_check_at = self.next_check_at.isoformat()
        else:
            next_check_at = self.next_check_at

        last_result: str | None
        last_result = self.last_result

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kind": kind,
                "id": id,
                "provider": provider,
                "created_at": created_at,
                "attempts": attempts,
                "checked_at": checked_at,
                "next_check_at": next_check_at,
                "last_result": last_result,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = check_reconcile_item_kind(d.pop("kind"))

        id = d.pop("id")

        def _parse_provider(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        provider = _parse_provider(d.pop("provider"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        attempts = d.pop("attempts")

        def _parse_checked_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                checked_at_type_0 = datetime.datetime.fromisoformat(data)

                return checked_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        checked_at = _parse_checked_at(d.pop("checked_at"))

        def _parse_next_check_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_check_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_check_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_check_at = _parse_next_check_at(d.pop("next_check_at"))

        def _parse_last_result(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        last_result = _parse_last_result(d.pop("last_result"))

        reconcile_item = cls(
            kind=kind,
            id=id,
            provider=provider,
            created_at=created_at,
            attempts=attempts,
            checked_at=checked_at,
            next_check_at=next_check_at,
            last_result=last_result,
        )

        reconcile_item.additional_properties = d
        return reconcile_item

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
