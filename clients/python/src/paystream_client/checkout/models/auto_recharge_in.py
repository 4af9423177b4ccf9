from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.money_in import MoneyIn


T = TypeVar("T", bound="AutoRechargeIn")


@_attrs_define
class AutoRechargeIn:
    """The whole setting of one unit (PUT replaces it). What to buy: a package, a product by
    quantity, or a product for an amount.

        Attributes:
            enabled (bool):
            threshold (int): recharge below this
            currency (str):
            monthly_cap (MoneyIn): An amount in a request: a decimal string (never a JSON number) and an ISO currency.
            daily_count_cap (int):
            consent_text (str):
            unit (str | Unset):  Default: 'credits'.
            package_id (None | str | Unset):
            product_id (None | str | Unset):
            quantity (int | None | Unset):
            amount (MoneyIn | None | Unset):
            payment_method_id (None | str | Unset): a saved card (pm_...); the default card when unset
    """

    enabled: bool
    threshold: int
    currency: str
    monthly_cap: MoneyIn
    daily_count_cap: int
    consent_text: str
    unit: str | Unset = "credits"
    package_id: str | Unset | None = UNSET
    product_id: str | Unset | None = UNSET
    quantity: int | Unset | None = UNSET
    amount: MoneyIn | Unset | None = UNSET
    payment_method_id: str | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_in import MoneyIn

        enabled = self.enabled

        threshold = self.threshold

        currency = self.currency

        monthly_cap = self.monthly_cap.to_dict()

        daily_count_cap = self.daily_count_cap

        consent_text = self.consent_text

        unit = self.unit

        package_id: str | Unset | None
        if isinstance(self.package_id, Unset):
            package_id = UNSET
        else:
            package_id = self.package_id

        product_id: str | Unset | None
        if isinstance(self.product_id, Unset):
            product_id = UNSET
        else:
            product_id = self.product_id

        quantity: int | Unset | None
        if isinstance(self.quantity, Unset):
            quantity = UNSET
        else:
            quantity = self.quantity

        amount: dict[str, Any] | Unset | None
        if isinstance(self.amount, Unset):
            amount = UNSET
        elif isinstance(self.amount, MoneyIn):
            amount = self.amount.to_dict()
        else:
            amount = self.amount

        payment_method_id: str | Unset | None
        if isinstance(self.payment_method_id, Unset):
            payment_method_id = UNSET
        else:
            payment_method_id = self.payment_method_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "enabled": enabled,
                "threshold": threshold,
                "currency": currency,
                "monthly_cap": monthly_cap,
                "daily_count_cap": daily_count_cap,
                "consent_text": consent_text,
            }
        )
        if unit is not UNSET:
            field_dict["unit"] = unit
        if package_id is not UNSET:
            field_dict["package_id"] = package_id
        if product_id is not UNSET:
            field_dict["product_id"] = product_id
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if amount is not UNSET:
            field_dict["amount"] = amount
        if payment_method_id is not UNSET:
            field_dict["payment_method_id"] = payment_method_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_in import MoneyIn

        d = dict(src_dict)
        enabled = d.pop("enabled")

        threshold = d.pop("threshold")

        currency = d.pop("currency")

        monthly_cap = MoneyIn.from_dict(d.pop("monthly_cap"))

        daily_count_cap = d.pop("daily_count_cap")

        consent_text = d.pop("consent_text")

        unit = d.pop("unit", UNSET)

        def _parse_package_id(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        package_id = _parse_package_id(d.pop("package_id", UNSET))

        def _parse_product_id(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        product_id = _parse_product_id(d.pop("product_id", UNSET))

        def _parse_quantity(data: object) -> int | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        quantity = _parse_quantity(d.pop("quantity", UNSET))

        def _parse_amount(data: object) -> MoneyIn | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                amount_type_0 = MoneyIn.from_dict(data)

                return amount_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyIn | None | Unset, data)

        amount = _parse_amount(d.pop("amount", UNSET))

        def _parse_payment_method_id(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payment_method_id = _parse_payment_method_id(d.pop("payment_method_id", UNSET))

        auto_recharge_in = cls(
            enabled=enabled,
            threshold=threshold,
            currency=currency,
            monthly_cap=monthly_cap,
            daily_count_cap=daily_count_cap,
            consent_text=consent_text,
            unit=unit,
            package_id=package_id,
            product_id=product_id,
            quantity=quantity,
            amount=amount,
            payment_method_id=payment_method_id,
        )

        return auto_recharge_in
