from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.order_out import OrderOut
    from ..models.provider_answer_out import ProviderAnswerOut


T = TypeVar("T", bound="SyncOut")


@_attrs_define
class SyncOut:
    """
    Attributes:
        order (OrderOut):
        provider (None | ProviderAnswerOut | Unset): The provider's answer; null when there was nothing to ask (the
            order is settled, or its payment was never opened at a provider).
    """

    order: OrderOut
    provider: ProviderAnswerOut | Unset | None = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.provider_answer_out import ProviderAnswerOut

        order = self.order.to_dict()

        provider: dict[str, Any] | Unset | None
        if isinstance(self.provider, Unset):
            provider = UNSET
        elif isinstance(self.provider, ProviderAnswerOut):
            provider = self.provider.to_dict()
        else:
            provider = self.provider

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "order": order,
            }
        )
        if provider is not UNSET:
            field_dict["provider"] = provider

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.order_out import OrderOut
        from ..models.provider_answer_out import ProviderAnswerOut

        d = dict(src_dict)
        order = OrderOut.from_dict(d.pop("order"))

        def _parse_provider(data: object) -> ProviderAnswerOut | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                provider_type_0 = ProviderAnswerOut.from_dict(data)

                return provider_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProviderAnswerOut | Unset, data)

        provider = _parse_provider(d.pop("provider", UNSET))

        sync_out = cls(
            order=order,
            provider=provider,
        )

        sync_out.additional_properties = d
        return sync_out

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
