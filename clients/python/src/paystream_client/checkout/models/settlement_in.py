from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SettlementIn")


@_attrs_define
class SettlementIn:
    """
    Attributes:
        date (datetime.date): The provider's day (Beijing time for Alipay / WeChat Pay, UTC for Stripe).
        providers (list[str] | None | Unset): Only these providers (each must be configured); default: every one.
    """

    date: datetime.date
    providers: list[str] | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        date = self.date.isoformat()

        providers: list[str] | Unset | None
        if isinstance(self.providers, Unset):
            providers = UNSET
        elif isinstance(self.providers, list):
            providers = self.providers

        else:
            providers = self.providers

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "date": date,
            }
        )
        if providers is not UNSET:
            field_dict["providers"] = providers

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        date = datetime.date.fromisoformat(d.pop("date"))

        def _parse_providers(data: object) -> list[str] | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                providers_type_0 = cast(list[str], data)

                return providers_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        providers = _parse_providers(d.pop("providers", UNSET))

        settlement_in = cls(
            date=date,
            providers=providers,
        )

        return settlement_in
