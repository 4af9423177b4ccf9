from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.grant_in_source import GrantInSource, check_grant_in_source
from ..types import UNSET, Unset

T = TypeVar("T", bound="GrantIn")


@_attrs_define
class GrantIn:
    """An operator's grant: free credits (a promotion, or an adjustment), optionally expiring.

    Attributes:
        user_id (str):
        credits_ (int): a positive integer
        reason (str):
        unit (str | Unset): the unit, `credits` by default Default: 'credits'.
        source (GrantInSource | Unset):  Default: 'adjustment'.
        validity (None | str | Unset): ISO 8601 duration from now (P30D); or give expires_at; neither: no expiry
        expires_at (datetime.datetime | None | Unset):
        priority (int | Unset): lower is consumed first Default: 50.
    """

    user_id: str
    credits_: int
    reason: str
    unit: str | Unset = "credits"
    source: GrantInSource | Unset = "adjustment"
    validity: str | Unset | None = UNSET
    expires_at: datetime.datetime | Unset | None = UNSET
    priority: int | Unset = 50

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        credits_ = self.credits_

        reason = self.reason

        unit = self.unit

        source: str | Unset = UNSET
        if not isinstance(self.source, Unset):
            source = self.source

        validity: str | Unset | None
        if isinstance(self.validity, Unset):
            validity = UNSET
        else:
            validity = self.validity

        expires_at: str | Unset | None
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        elif isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        priority = self.priority

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user_id": user_id,
                "credits": credits_,
                "reason": reason,
            }
        )
        if unit is not UNSET:
            field_dict["unit"] = unit
        if source is not UNSET:
            field_dict["source"] = source
        if validity is not UNSET:
            field_dict["validity"] = validity
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if priority is not UNSET:
            field_dict["priority"] = priority

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user_id = d.pop("user_id")

        credits_ = d.pop("credits")

        reason = d.pop("reason")

        unit = d.pop("unit", UNSET)

        _source = d.pop("source", UNSET)
        source: GrantInSource | Unset
        if isinstance(_source, Unset):
            source = UNSET
        else:
            source = check_grant_in_source(_source)

        def _parse_validity(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        validity = _parse_validity(d.pop("validity", UNSET))

        def _parse_expires_at(data: object) -> datetime.datetime | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        expires_at = _parse_expires_at(d.pop("expires_at", UNSET))

        priority = d.pop("priority", UNSET)

        grant_in = cls(
            user_id=user_id,
            credits_=credits_,
            reason=reason,
            unit=unit,
            source=source,
            validity=validity,
            expires_at=expires_at,
            priority=priority,
        )

        return grant_in
