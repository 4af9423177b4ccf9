from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.recharge_status import RechargeStatus, check_recharge_status

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="AutoRechargeOut")


@_attrs_define
class AutoRechargeOut:
    """
    Attributes:
        enabled (bool):
        unit (str):
        status (RechargeStatus):
        threshold (int):
        package_id (None | str):
        product_id (None | str):
        quantity (int | None):
        amount (MoneyOut | None):
        currency (str):
        payment_method_id (None | str):
        monthly_cap (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        daily_count_cap (int):
        consent_text (str):
        consent_at (datetime.datetime):
        last_error (None | str):
        action_url (None | str):
        updated_at (datetime.datetime):
    """

    enabled: bool
    unit: str
    status: RechargeStatus
    threshold: int
    package_id: str | None
    product_id: str | None
    quantity: int | None
    amount: MoneyOut | None
    currency: str
    payment_method_id: str | None
    monthly_cap: MoneyOut
    daily_count_cap: int
    consent_text: str
    consent_at: datetime.datetime
    last_error: str | None
    action_url: str | None
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_out import MoneyOut

        enabled = self.enabled

        unit = self.unit

        status: str = self.status

        threshold = self.threshold

        package_id: str | None
        package_id = self.package_id

        product_id: str | None
        product_id = self.product_id

        quantity: int | None
        quantity = self.quantity

        amount: dict[str, Any] | None
        if isinstance(self.amount, MoneyOut):
            amount = self.amount.to_dict()
        else:
            amount = self.amount

        currency = self.currency

        payment_method_id: str | None
        payment_method_id = self.payment_method_id

        monthly_cap = self.monthly_cap.to_dict()

        daily_count_cap = self.daily_count_cap

        consent_text = self.consent_text

        consent_at = self.consent_at.isoformat()

        last_error: str | None
        last_error = self.last_error

        action_url: str | None
        action_url = self.action_url

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "enabled": enabled,
                "unit": unit,
                "status": status,
                "threshold": threshold,
                "package_id": package_id,
                "product_id": product_id,
                "quantity": quantity,
                "amount": amount,
                "currency": currency,
                "payment_method_id": payment_method_id,
                "monthly_cap": monthly_cap,
                "daily_count_cap": daily_count_cap,
                "consent_text": consent_text,
                "consent_at": consent_at,
                "last_error": last_error,
                "action_url": action_url,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        enabled = d.pop("enabled")

        unit = d.pop("unit")

        status = check_recharge_status(d.pop("status"))

        threshold = d.pop("threshold")

        def _parse_package_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        package_id = _parse_package_id(d.pop("package_id"))

        def _parse_product_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        product_id = _parse_product_id(d.pop("product_id"))

        def _parse_quantity(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        quantity = _parse_quantity(d.pop("quantity"))

        def _parse_amount(data: object) -> MoneyOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                amount_type_0 = MoneyOut.from_dict(data)

                return amount_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyOut | None, data)

        amount = _parse_amount(d.pop("amount"))

        currency = d.pop("currency")

        def _parse_payment_method_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        payment_method_id = _parse_payment_method_id(d.pop("payment_method_id"))

        monthly_cap = MoneyOut.from_dict(d.pop("monthly_cap"))

        daily_count_cap = d.pop("daily_count_cap")

        consent_text = d.pop("consent_text")

        consent_at = datetime.datetime.fromisoformat(d.pop("consent_at"))

        def _parse_last_error(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("last_error"))

        def _parse_action_url(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        action_url = _parse_action_url(d.pop("action_url"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        auto_recharge_out = cls(
            enabled=enabled,
            unit=unit,
            status=status,
            threshold=threshold,
            package_id=package_id,
            product_id=product_id,
            quantity=quantity,
            amount=amount,
            currency=currency,
            payment_method_id=payment_method_id,
            monthly_cap=monthly_cap,
            daily_count_cap=daily_count_cap,
            consent_text=consent_text,
            consent_at=consent_at,
            last_error=last_error,
            action_url=action_url,
            updated_at=updated_at,
        )

        auto_recharge_out.additional_properties = d
        return auto_recharge_out

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
