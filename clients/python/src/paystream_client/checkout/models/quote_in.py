from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.money_in import MoneyIn


T = TypeVar("T", bound="QuoteIn")


@_attrs_define
class QuoteIn:
    """Price a purchase: a package, a quantity of a unit product, or a custom amount of it.

    Attributes:
        package_id (None | str | Unset):
        product_id (None | str | Unset):
        quantity (int | None | Unset):
        amount (MoneyIn | None | Unset): a custom amount
        currency (None | str | Unset): for a package or a quantity; by default the item's first currency
    """

    package_id: str | Unset | None = UNSET
    product_id: str | Unset | None = UNSET
    quantity: int | Unset | None = UNSET
    amount: MoneyIn | Unset | None = UNSET
    currency: str | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_in import MoneyIn

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

        currency: str | Unset | None
        if isinstance(self.currency, Unset):
            currency = UNSET
        else:
            currency = self.currency

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if package_id is not UNSET:
            field_dict["package_id"] = package_id
        if product_id is not UNSET:
            field_dict["product_id"] = product_id
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if amount is not UNSET:
            field_dict["amount"] = amount
        if currency is not UNSET:
            field_dict["currency"] = currency

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_in import MoneyIn

        d = dict(src_dict)

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

        def _parse_currency(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        currency = _parse_currency(d.pop("currency", UNSET))

        quote_in = cls(
            package_id=package_id,
            product_id=product_id,
            quantity=quantity,
            amount=amount,
            currency=currency,
        )

        return quote_in
