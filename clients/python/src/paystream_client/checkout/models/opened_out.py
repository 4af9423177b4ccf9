from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.order_out import OrderOut
    from ..models.subscription_out import SubscriptionOut


T = TypeVar("T", bound="OpenedOut")


@_attrs_define
class OpenedOut:
    """
    Attributes:
        subscription (SubscriptionOut):
        order (None | OrderOut): the order to pay (its payment instructions)
    """

    subscription: SubscriptionOut
    order: OrderOut | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.order_out import OrderOut

        subscription = self.subscription.to_dict()

        order: dict[str, Any] | None
        if isinstance(self.order, OrderOut):
            order = self.order.to_dict()
        else:
            order = self.order

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "subscription": subscription,
                "order": order,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.order_out import OrderOut
        from ..models.subscription_out import SubscriptionOut

        d = dict(src_dict)
        subscription = SubscriptionOut.from_dict(d.pop("subscription"))

        def _parse_order(data: object) -> OrderOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                order_type_0 = OrderOut.from_dict(data)

                return order_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | OrderOut, data)

        order = _parse_order(d.pop("order"))

        opened_out = cls(
            subscription=subscription,
            order=order,
        )

        opened_out.additional_properties = d
        return opened_out

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
