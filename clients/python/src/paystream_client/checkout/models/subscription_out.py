from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.billing import Billing, check_billing
from ..models.status import Status, check_status

if TYPE_CHECKING:
    from ..models.change_out import ChangeOut
    from ..models.pending_order_out import PendingOrderOut
    from ..models.period_out import PeriodOut
    from ..models.plan_brief import PlanBrief
    from ..models.renewal_out import RenewalOut


T = TypeVar("T", bound="SubscriptionOut")


@_attrs_define
class SubscriptionOut:
    """
    Attributes:
        subscription_id (str):
        user_id (str):
        plan (PlanBrief):
        status (Status):
        billing (Billing):
        currency (None | str):
        payment_method (None | str):
        current_period (PeriodOut):
        allowance_period (PeriodOut):
        next_plan_id (None | str): takes effect at the period's end
        cancel_at_period_end (bool):
        grace_ends_at (datetime.datetime | None):
        renewal (None | RenewalOut):
        stripe_subscription_id (None | str):
        pending_orders (list[PendingOrderOut]):
        history (list[ChangeOut]): the latest transitions, newest first
        now (datetime.datetime): checkout's clock (sandbox time in sandbox mode)
    """

    subscription_id: str
    user_id: str
    plan: PlanBrief
    status: Status
    billing: Billing
    currency: str | None
    payment_method: str | None
    current_period: PeriodOut
    allowance_period: PeriodOut
    next_plan_id: str | None
    cancel_at_period_end: bool
    grace_ends_at: datetime.datetime | None
    renewal: RenewalOut | None
    stripe_subscription_id: str | None
    pending_orders: list[PendingOrderOut]
    history: list[ChangeOut]
    now: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.renewal_out import RenewalOut

        subscription_id = self.subscription_id

        user_id = self.user_id

        plan = self.plan.to_dict()

        status: str = self.status

        billing: str = self.billing

        currency: str | None
        currency = self.currency

        payment_method: str | None
        payment_method = self.payment_method

        current_period = self.current_period.to_dict()

        allowance_period = self.allowance_period.to_dict()

        next_plan_id: str | None
        next_plan_id = self.next_plan_id

        cancel_at_period_end = self.cancel_at_period_end

        grace_ends_at: str | None
        if isinstance(self.grace_ends_at, datetime.datetime):
            grace_ends_at = self.grace_ends_at.isoformat()
        else:
            grace_ends_at = self.grace_ends_at

        renewal: dict[str, Any] | None
        if isinstance(self.renewal, RenewalOut):
            renewal = self.renewal.to_dict()
        else:
            renewal = self.renewal

        stripe_subscription_id: str | None
        stripe_subscription_id = self.stripe_subscription_id

        pending_orders = []
        for pending_orders_item_data in self.pending_orders:
            pending_orders_item = pending_orders_item_data.to_dict()
            pending_orders.append(pending_orders_item)

        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)

        now = self.now.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "subscription_id": subscription_id,
                "user_id": user_id,
                "plan": plan,
                "status": status,
                "billing": billing,
                "currency": currency,
                "payment_method": payment_method,
                "current_period": current_period,
                "allowance_period": allowance_period,
                "next_plan_id": next_plan_id,
                "cancel_at_period_end": cancel_at_period_end,
                "grace_ends_at": grace_ends_at,
                "renewal": renewal,
                "stripe_subscription_id": stripe_subscription_id,
                "pending_orders": pending_orders,
                "history": history,
                "now": now,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.change_out import ChangeOut
        from ..models.pending_order_out import PendingOrderOut
        from ..models.period_out import PeriodOut
        from ..models.plan_brief import PlanBrief
        from ..models.renewal_out import RenewalOut

        d = dict(src_dict)
        subscription_id = d.pop("subscription_id")

        user_id = d.pop("user_id")

        plan = PlanBrief.from_dict(d.pop("plan"))

        status = check_status(d.pop("status"))

        billing = check_billing(d.pop("billing"))

        def _parse_currency(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        currency = _parse_currency(d.pop("currency"))

        def _parse_payment_method(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        payment_method = _parse_payment_method(d.pop("payment_method"))

        current_period = PeriodOut.from_dict(d.pop("current_period"))

        allowance_period = PeriodOut.from_dict(d.pop("allowance_period"))

        def _parse_next_plan_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        next_plan_id = _parse_next_plan_id(d.pop("next_plan_id"))

        cancel_at_period_end = d.pop("cancel_at_period_end")

        def _parse_grace_ends_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                grace_ends_at_type_0 = datetime.datetime.fromisoformat(data)

                return grace_ends_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        grace_ends_at = _parse_grace_ends_at(d.pop("grace_ends_at"))

        def _parse_renewal(data: object) -> RenewalOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                renewal_type_0 = RenewalOut.from_dict(data)

                return renewal_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RenewalOut, data)

        renewal = _parse_renewal(d.pop("renewal"))

        def _parse_stripe_subscription_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        stripe_subscription_id = _parse_stripe_subscription_id(d.pop("stripe_subscription_id"))

        pending_orders = []
        _pending_orders = d.pop("pending_orders")
        for pending_orders_item_data in _pending_orders:
            pending_orders_item = PendingOrderOut.from_dict(pending_orders_item_data)

            pending_orders.append(pending_orders_item)

        history = []
        _history = d.pop("history")
        for history_item_data in _history:
            history_item = ChangeOut.from_dict(history_item_data)

            history.append(history_item)

        now = datetime.datetime.fromisoformat(d.pop("now"))

        subscription_out = cls(
            subscription_id=subscription_id,
            user_id=user_id,
            plan=plan,
            status=status,
            billing=billing,
            currency=currency,
            payment_method=payment_method,
            current_period=current_period,
            allowance_period=allowance_period,
            next_plan_id=next_plan_id,
            cancel_at_period_end=cancel_at_period_end,
            grace_ends_at=grace_ends_at,
            renewal=renewal,
            stripe_subscription_id=stripe_subscription_id,
            pending_orders=pending_orders,
            history=history,
            now=now,
        )

        subscription_out.additional_properties = d
        return subscription_out

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
