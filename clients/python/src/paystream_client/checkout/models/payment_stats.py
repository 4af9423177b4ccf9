from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.day_stats import DayStats
    from ..models.failure_reason import FailureReason
    from ..models.method_stats import MethodStats
    from ..models.needs_review import NeedsReview
    from ..models.package_stats import PackageStats
    from ..models.paid_amount import PaidAmount
    from ..models.plan_stats import PlanStats


T = TypeVar("T", bound="PaymentStats")


@_attrs_define
class PaymentStats:
    """
    Attributes:
        since (datetime.date):
        until (datetime.date):
        by_method (list[MethodStats]):
        by_day (list[DayStats]):
        paid_amounts (list[PaidAmount]):
        packages (list[PackageStats]):
        plans (list[PlanStats]): subscriptions per plan now, and the plans' orders in the period; the most subscribed
            first
        failure_reasons (list[FailureReason]):
        needs_review (NeedsReview):
    """

    since: datetime.date
    until: datetime.date
    by_method: list[MethodStats]
    by_day: list[DayStats]
    paid_amounts: list[PaidAmount]
    packages: list[PackageStats]
    plans: list[PlanStats]
    failure_reasons: list[FailureReason]
    needs_review: NeedsReview
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        since = self.since.isoformat()

        until = self.until.isoformat()

        by_method = []
        for by_method_item_data in self.by_method:
            by_method_item = by_method_item_data.to_dict()
            by_method.append(by_method_item)

        by_day = []
        for by_day_item_data in self.by_day:
            by_day_item = by_day_item_data.to_dict()
            by_day.append(by_day_item)

        paid_amounts = []
        for paid_amounts_item_data in self.paid_amounts:
            paid_amounts_item = paid_amounts_item_data.to_dict()
            paid_amounts.append(paid_amounts_item)

        packages = []
        for packages_item_data in self.packages:
            packages_item = packages_item_data.to_dict()
            packages.append(packages_item)

        plans = []
        for plans_item_data in self.plans:
            plans_item = plans_item_data.to_dict()
            plans.append(plans_item)

        failure_reasons = []
        for failure_reasons_item_data in self.failure_reasons:
            failure_reasons_item = failure_reasons_item_data.to_dict()
            failure_reasons.append(failure_reasons_item)

        needs_review = self.needs_review.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "since": since,
                "until": until,
                "by_method": by_method,
                "by_day": by_day,
                "paid_amounts": paid_amounts,
                "packages": packages,
                "plans": plans,
                "failure_reasons": failure_reasons,
                "needs_review": needs_review,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.day_stats import DayStats
        from ..models.failure_reason import FailureReason
        from ..models.method_stats import MethodStats
        from ..models.needs_review import NeedsReview
        from ..models.package_stats import PackageStats
        from ..models.paid_amount import PaidAmount
        from ..models.plan_stats import PlanStats

        d = dict(src_dict)
        since = datetime.date.fromisoformat(d.pop("since"))

        until = datetime.date.fromisoformat(d.pop("until"))

        by_method = []
        _by_method = d.pop("by_method")
        for by_method_item_data in _by_method:
            by_method_item = MethodStats.from_dict(by_method_item_data)

            by_method.append(by_method_item)

        by_day = []
        _by_day = d.pop("by_day")
        for by_day_item_data in _by_day:
            by_day_item = DayStats.from_dict(by_day_item_data)

            by_day.append(by_day_item)

        paid_amounts = []
        _paid_amounts = d.pop("paid_amounts")
        for paid_amounts_item_data in _paid_amounts:
            paid_amounts_item = PaidAmount.from_dict(paid_amounts_item_data)

            paid_amounts.append(paid_amounts_item)

        packages = []
        _packages = d.pop("packages")
        for packages_item_data in _packages:
            packages_item = PackageStats.from_dict(packages_item_data)

            packages.append(packages_item)

        plans = []
        _plans = d.pop("plans")
        for plans_item_data in _plans:
            plans_item = PlanStats.from_dict(plans_item_data)

            plans.append(plans_item)

        failure_reasons = []
        _failure_reasons = d.pop("failure_reasons")
        for failure_reasons_item_data in _failure_reasons:
            failure_reasons_item = FailureReason.from_dict(failure_reasons_item_data)

            failure_reasons.append(failure_reasons_item)

        needs_review = NeedsReview.from_dict(d.pop("needs_review"))

        payment_stats = cls(
            since=since,
            until=until,
            by_method=by_method,
            by_day=by_day,
            paid_amounts=paid_amounts,
            packages=packages,
            plans=plans,
            failure_reasons=failure_reasons,
            needs_review=needs_review,
        )

        payment_stats.additional_properties = d
        return payment_stats

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
