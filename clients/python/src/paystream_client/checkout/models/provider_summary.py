from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.provider_summary_counts import ProviderSummaryCounts
    from ..models.provider_summary_fees_minor import ProviderSummaryFeesMinor


T = TypeVar("T", bound="ProviderSummary")


@_attrs_define
class ProviderSummary:
    """
    Attributes:
        provider (str):
        start (datetime.datetime):
        end (datetime.datetime):
        counts (ProviderSummaryCounts): lines by outcome
        fees_minor (ProviderSummaryFeesMinor): the provider's fees by currency
        differences (int):
    """

    provider: str
    start: datetime.datetime
    end: datetime.datetime
    counts: ProviderSummaryCounts
    fees_minor: ProviderSummaryFeesMinor
    differences: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        provider = self.provider

        start = self.start.isoformat()

        end = self.end.isoformat()

        counts = self.counts.to_dict()

        fees_minor = self.fees_minor.to_dict()

        differences = self.differences

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "provider": provider,
                "start": start,
                "end": end,
                "counts": counts,
                "fees_minor": fees_minor,
                "differences": differences,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.provider_summary_counts import ProviderSummaryCounts
        from ..models.provider_summary_fees_minor import ProviderSummaryFeesMinor

        d = dict(src_dict)
        provider = d.pop("provider")

        start = datetime.datetime.fromisoformat(d.pop("start"))

        end = datetime.datetime.fromisoformat(d.pop("end"))

        counts = ProviderSummaryCounts.from_dict(d.pop("counts"))

        fees_minor = ProviderSummaryFeesMinor.from_dict(d.pop("fees_minor"))

        differences = d.pop("differences")

        provider_summary = cls(
            provider=provider,
            start=start,
            end=end,
            counts=counts,
            fees_minor=fees_minor,
            differences=differences,
        )

        provider_summary.additional_properties = d
        return provider_summary

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
