from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookAccepted")


@_attrs_define
class WebhookAccepted:
    """
    Attributes:
        event_id (str): the provider's event id
        type_ (str): the provider's event type
        published (list[str]): topics that acknowledged the event
        received (bool | Unset):  Default: True.
        ignored (bool | Unset): true when the event is not one paystream acts on (unhandled type, or not an order of
            ours); it is still kept in webhooks.raw Default: False.
    """

    event_id: str
    type_: str
    published: list[str]
    received: bool | Unset = True
    ignored: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event_id = self.event_id

        type_ = self.type_

        published = self.published

        received = self.received

        ignored = self.ignored

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event_id": event_id,
                "type": type_,
                "published": published,
            }
        )
        if received is not UNSET:
            field_dict["received"] = received
        if ignored is not UNSET:
            field_dict["ignored"] = ignored

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        event_id = d.pop("event_id")

        type_ = d.pop("type")

        published = cast(list[str], d.pop("published"))

        received = d.pop("received", UNSET)

        ignored = d.pop("ignored", UNSET)

        webhook_accepted = cls(
            event_id=event_id,
            type_=type_,
            published=published,
            received=received,
            ignored=ignored,
        )

        webhook_accepted.additional_properties = d
        return webhook_accepted

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
