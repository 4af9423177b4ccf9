from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.quote_out_kind import QuoteOutKind, check_quote_out_kind

if TYPE_CHECKING:
    from ..models.grant_out import GrantOut
    from ..models.line_out import LineOut
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="QuoteOut")


@_attrs_define
class QuoteOut:
    """
    Attributes:
        quote_id (str):
        kind (QuoteOutKind):
        item_id (str): the package or product priced
        unit (str):
        quantity (int): units the order will grant
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        unit_amount (MoneyOut | None): per unit, for a quantity
        rule (str): what priced it: `tier 20-100 at 1.60`, a rate, the package
        lines (list[LineOut]): the order's and the invoice's lines
        grants (list[GrantOut]):
        expires_at (datetime.datetime):
        token (str): present it as `quote` in POST /v1/orders; signed, so it cannot be altered, and valid until
            expires_at
    """

    quote_id: str
    kind: QuoteOutKind
    item_id: str
    unit: str
    quantity: int
    amount: MoneyOut
    unit_amount: MoneyOut | None
    rule: str
    lines: list[LineOut]
    grants: list[GrantOut]
    expires_at: datetime.datetime
    token: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_out import MoneyOut

        quote_id = self.quote_id

        kind: str = self.kind

        item_id = self.item_id

        unit = self.unit

        quantity = self.quantity

        amount = self.amount.to_dict()

        unit_amount: dict[str, Any] | None
        if isinstance(self.unit_amount, MoneyOut):
            unit_amount = self.unit_amount.to_dict()
        else:
            unit_amount = self.unit_amount

        rule = self.rule

        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        grants = []
        for grants_item_data in self.grants:
            grants_item = grants_item_data.to_dict()
            grants.append(grants_item)

        expires_at = self.expires_at.isoformat()

        token = self.token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "quote_id": quote_id,
                "kind": kind,
                "item_id": item_id,
                "unit": unit,
                "quantity": quantity,
                "amount": amount,
                "unit_amount": unit_amount,
                "rule": rule,
                "lines": lines,
                "grants": grants,
                "expires_at": expires_at,
                "token": token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.grant_out import GrantOut
        from ..models.line_out import LineOut
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        quote_id = d.pop("quote_id")

        kind = check_quote_out_kind(d.pop("kind"))

        item_id = d.pop("item_id")

        unit = d.pop("unit")

        quantity = d.pop("quantity")

        amount = MoneyOut.from_dict(d.pop("amount"))

        def _parse_unit_amount(data: object) -> MoneyOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                unit_amount_type_0 = MoneyOut.from_dict(data)

                return unit_amount_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyOut | None, data)

        unit_amount = _parse_unit_amount(d.pop("unit_amount"))

        rule = d.pop("rule")

        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = LineOut.from_dict(lines_item_data)

            lines.append(lines_item)

        grants = []
        _grants = d.pop("grants")
        for grants_item_data in _grants:
            grants_item = GrantOut.from_dict(grants_item_data)

            grants.append(grants_item)

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        token = d.pop("token")

        quote_out = cls(
            quote_id=quote_id,
            kind=kind,
            item_id=item_id,
            unit=unit,
            quantity=quantity,
            amount=amount,
            unit_amount=unit_amount,
            rule=rule,
            lines=lines,
            grants=grants,
            expires_at=expires_at,
            token=token,
        )

        quote_out.additional_properties = d
        return quote_out

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
