from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.preview_out_change import PreviewOutChange, check_preview_out_change
from ..models.preview_out_effective import PreviewOutEffective, check_preview_out_effective

if TYPE_CHECKING:
    from ..models.line_out import LineOut
    from ..models.money_out import MoneyOut
    from ..models.proration_out import ProrationOut


T = TypeVar("T", bound="PreviewOut")


@_attrs_define
class PreviewOut:
    """
    Attributes:
        plan_id (str):
        from_plan_id (str):
        change (PreviewOutChange):
        effective (PreviewOutEffective):
        effective_at (datetime.datetime):
        charge (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        allowance_delta (int): units granted now for the rest of the month (rounded down)
        unit (str):
        proration (None | ProrationOut):
        lines (list[LineOut]):
        next_renewal (MoneyOut | None): what the next period costs
        token (str): present it as `preview` in POST /v1/subscriptions/change to be charged exactly this
        expires_at (datetime.datetime):
    """

    plan_id: str
    from_plan_id: str
    change: PreviewOutChange
    effective: PreviewOutEffective
    effective_at: datetime.datetime
    charge: MoneyOut
    allowance_delta: int
    unit: str
    proration: ProrationOut | None
    lines: list[LineOut]
    next_renewal: MoneyOut | None
    token: str
    expires_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_out import MoneyOut
        from ..models.proration_out import ProrationOut

        plan_id = self.plan_id

        from_plan_id = self.from_plan_id

        change: str = self.change

        effective: str = self.effective

        effective_at = self.effective_at.isoformat()

        charge = self.charge.to_dict()

        allowance_delta = self.allowance_delta

        unit = self.unit

        proration: dict[str, Any] | None
        if isinstance(self.proration, ProrationOut):
            proration = self.proration.to_dict()
        else:
            proration = self.proration

        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        next_renewal: dict[str, Any] | None
        if isinstance(self.next_renewal, MoneyOut):
            next_renewal = self.next_renewal.to_dict()
        else:
            next_renewal = self.next_renewal

        token = self.token

        expires_at = self.expires_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "plan_id": plan_id,
                "from_plan_id": from_plan_id,
                "change": change,
                "effective": effective,
                "effective_at": effective_at,
                "charge": charge,
                "allowance_delta": allowance_delta,
                "unit": unit,
                "proration": proration,
                "lines": lines,
                "next_renewal": next_renewal,
                "token": token,
                "expires_at": expires_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.line_out import LineOut
        from ..models.money_out import MoneyOut
        from ..models.proration_out import ProrationOut

        d = dict(src_dict)
        plan_id = d.pop("plan_id")

        from_plan_id = d.pop("from_plan_id")

        change = check_preview_out_change(d.pop("change"))

        effective = check_preview_out_effective(d.pop("effective"))

        effective_at = datetime.datetime.fromisoformat(d.pop("effective_at"))

        charge = MoneyOut.from_dict(d.pop("charge"))

        allowance_delta = d.pop("allowance_delta")

        unit = d.pop("unit")

        def _parse_proration(data: object) -> ProrationOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                proration_type_0 = ProrationOut.from_dict(data)

                return proration_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProrationOut, data)

        proration = _parse_proration(d.pop("proration"))

        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = LineOut.from_dict(lines_item_data)

            lines.append(lines_item)

        def _parse_next_renewal(data: object) -> MoneyOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                next_renewal_type_0 = MoneyOut.from_dict(data)

                return next_renewal_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyOut | None, data)

        next_renewal = _parse_next_renewal(d.pop("next_renewal"))

        token = d.pop("token")

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        preview_out = cls(
            plan_id=plan_id,
            from_plan_id=from_plan_id,
            change=change,
            effective=effective,
            effective_at=effective_at,
            charge=charge,
            allowance_delta=allowance_delta,
            unit=unit,
            proration=proration,
            lines=lines,
            next_renewal=next_renewal,
            token=token,
            expires_at=expires_at,
        )

        preview_out.additional_properties = d
        return preview_out

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
