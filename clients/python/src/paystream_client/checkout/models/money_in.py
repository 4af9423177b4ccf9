from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="MoneyIn")


@_attrs_define
class MoneyIn:
    """An amount in a request: a decimal string (never a JSON number) and an ISO currency.

    Attributes:
        value (str):
        currency (str):
    """

    value: str
    currency: str

    def to_dict(self) -> dict[str, Any]:
        value = self.value

        currency = self.currency

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "value": value,
                "currency": currency,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        value = d.pop("value")

        currency = d.pop("currency")

        money_in = cls(
            value=value,
            currency=currency,
        )

        return money_in
