from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.settlement_outcome import SettlementOutcome, check_settlement_outcome

T = TypeVar("T", bound="SettlementLineOut")


@_attrs_define
class SettlementLineOut:
    """
    Attributes:
        provider (str):
        kind (str): payment | refund
        reference (str): the merchant's number the provider keyed it by
        outcome (SettlementOutcome):
        currency (str):
        provider_amount_minor (int | None): null: missing at the provider
        booked_amount_minor (int | None): null: missing in paystream
        fee_minor (int | None): the provider's fee on it (negative: given back)
        order_id (None | str):
        refund_id (None | str):
        provider_id (None | str):
        at (datetime.datetime | None):
    """

    provider: str
    kind: str
    reference: str
    outcome: SettlementOutcome
    currency: str
    provider_amount_minor: int | None
    booked_amount_minor: int | None
    fee_minor: int | None
    order_id: str | None
    refund_id: str | None
    provider_id: str | None
    at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        provider = self.provider

        kind = self.kind

        reference = self.reference

        outcome: str = self.outcome

        currency = self.currency

        provider_amount_minor: int | None
        provider_amount_minor = self.provider_amount_minor

        booked_amount_minor: int | None
        booked_amount_minor = self.booked_amount_minor

        fee_minor: int | None
        fee_minor = self.fee_minor

        order_id: str | None
        order_id = self.order_id

        refund_id: str | None
        refund_id = self.refund_id

        provider_id: str | None
        provider_id = self.provider_id

        at: str | None
        if isinstance(self.at, datetime.datetime):
            at = self.at.isoformat()
        else:
            at = self.at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "provider": provider,
                "kind": kind,
                "reference": reference,
                "outcome": outcome,
                "currency": currency,
                "provider_amount_minor": provider_amount_minor,
                "booked_amount_minor": booked_amount_minor,
                "fee_minor": fee_minor,
                "order_id": order_id,
                "refund_id": refund_id,
                "provider_id": provider_id,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        provider = d.pop("provider")

        kind = d.pop("kind")

        reference = d.pop("reference")

        outcome = check_settlement_outcome(d.pop("outcome"))

        currency = d.pop("currency")

        def _parse_provider_amount_minor(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        provider_amount_minor = _parse_provider_amount_minor(d.pop("provider_amount_minor"))

        def _parse_booked_amount_minor(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        booked_amount_minor = _parse_booked_amount_minor(d.pop("booked_amount_minor"))

        def _parse_fee_minor(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        fee_minor = _parse_fee_minor(d.pop("fee_minor"))

        def _parse_order_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        order_id = _parse_order_id(d.pop("order_id"))

        def _parse_refund_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        refund_id = _parse_refund_id(d.pop("refund_id"))

        def _parse_provider_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        provider_id = _parse_provider_id(d.pop("provider_id"))

        def _parse_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                at_type_0 = datetime.datetime.fromisoformat(data)

                return at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        at = _parse_at(d.pop("at"))

        settlement_line_out = cls(
            provider=provider,
            kind=kind,
            reference=reference,
            outcome=outcome,
            currency=currency,
            provider_amount_minor=provider_amount_minor,
            booked_amount_minor=booked_amount_minor,
            fee_minor=fee_minor,
            order_id=order_id,
            refund_id=refund_id,
            provider_id=provider_id,
            at=at,
        )

        settlement_line_out.additional_properties = d
        return settlement_line_out

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
