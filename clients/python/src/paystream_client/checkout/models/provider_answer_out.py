from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.provider_answer_out_state import (
    ProviderAnswerOutState,
    check_provider_answer_out_state,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="ProviderAnswerOut")


@_attrs_define
class ProviderAnswerOut:
    """
    Attributes:
        state (ProviderAnswerOutState): What the provider says: paid, failed (final), or open (nothing final yet).
        status (None | str | Unset): The provider's own word for it.
    """

    state: ProviderAnswerOutState
    status: str | Unset | None = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        state: str = self.state

        status: str | Unset | None
        if isinstance(self.status, Unset):
            status = UNSET
        else:
            status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "state": state,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        state = check_provider_answer_out_state(d.pop("state"))

        def _parse_status(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        status = _parse_status(d.pop("status", UNSET))

        provider_answer_out = cls(
            state=state,
            status=status,
        )

        provider_answer_out.additional_properties = d
        return provider_answer_out

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
