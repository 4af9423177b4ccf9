from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.changed_out_change import ChangedOutChange, check_changed_out_change
from ..models.changed_out_effective import ChangedOutEffective, check_changed_out_effective

if TYPE_CHECKING:
    from ..models.order_out import OrderOut
    from ..models.subscription_out import SubscriptionOut


T = TypeVar("T", bound="ChangedOut")


@_attrs_define
class ChangedOut:
    """
    Attributes:
        subscription (SubscriptionOut):
        change (ChangedOutChange):
        effective (ChangedOutEffective):
        effective_at (datetime.datetime):
        order (None | OrderOut): an upgrade's order to pay (none when it cost nothing, or for a downgrade)
    """

    subscription: SubscriptionOut
    change: ChangedOutChange
    effective: ChangedOutEffective
    effective_at: datetime.datetime
    order: OrderOut | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.order_out import OrderOut

        subscription = self.subscription.to_dict()

        change: str = self.change

        effective: str = self.effective

        effective_at = self.effective_at.isoformat()

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
                "change": change,
                "effective": effective,
                "effective_at": effective_at,
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

        change = check_changed_out_change(d.pop("change"))

        effective = check_changed_out_effective(d.pop("effective"))

        effective_at = datetime.datetime.fromisoformat(d.pop("effective_at"))

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

        changed_out = cls(
            subscription=subscription,
            change=change,
            effective=effective,
            effective_at=effective_at,
            order=order,
        )

        changed_out.additional_properties = d
        return changed_out

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
