from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.provider_summary import ProviderSummary
    from ..models.settlement_line_out import SettlementLineOut


T = TypeVar("T", bound="SettlementReport")


@_attrs_define
class SettlementReport:
    """
    Attributes:
        date (datetime.date):
        ok (bool): true: every line matched
        providers (list[ProviderSummary]):
        lines (list[SettlementLineOut]):
    """

    date: datetime.date
    ok: bool
    providers: list[ProviderSummary]
    lines: list[SettlementLineOut]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        date = self.date.isoformat()

        ok = self.ok

        providers = []
        for providers_item_data in self.providers:
            providers_item = providers_item_data.to_dict()
            providers.append(providers_item)

        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "date": date,
                "ok": ok,
                "providers": providers,
                "lines": lines,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.provider_summary import ProviderSummary
        from ..models.settlement_line_out import SettlementLineOut

        d = dict(src_dict)
        date = datetime.date.fromisoformat(d.pop("date"))

        ok = d.pop("ok")

        providers = []
        _providers = d.pop("providers")
        for providers_item_data in _providers:
            providers_item = ProviderSummary.from_dict(providers_item_data)

            providers.append(providers_item)

        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = SettlementLineOut.from_dict(lines_item_data)

            lines.append(lines_item)

        settlement_report = cls(
            date=date,
            ok=ok,
            providers=providers,
            lines=lines,
        )

        settlement_report.additional_properties = d
        return settlement_report

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
