from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.create_order_in_payment_method import (
    CreateOrderInPaymentMethod,
    check_create_order_in_payment_method,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateOrderIn")


@_attrs_define
class CreateOrderIn:
    """
    Attributes:
        payment_method (CreateOrderInPaymentMethod):
        package_id (None | str | Unset): A package at its catalog price; or give `quote` instead.
        quote (None | str | Unset): A quote's token (POST /v1/quotes): a quantity or a custom amount, charged exactly as
            quoted.
        return_url (None | str | Unset): Where the payment page sends the customer back (http or https).
        currency (None | str | Unset): Pay the package's price in this currency; by default the first of the package's
            currencies that the payment method takes.
        save_card (bool | Unset): stripe_payment_intent only: save the card that pays this order to the caller's saved
            methods (Stripe `setup_future_usage=off_session`; card only) Default: False.
    """

    payment_method: CreateOrderInPaymentMethod
    package_id: str | Unset | None = UNSET
    quote: str | Unset | None = UNSET
    return_url: str | Unset | None = UNSET
    currency: str | Unset | None = UNSET
    save_card: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        payment_method: str = self.payment_method

        package_id: str | Unset | None
        if isinstance(self.package_id, Unset):
            package_id = UNSET
        else:
            package_id = self.package_id

        quote: str | Unset | None
        if isinstance(self.quote, Unset):
            quote = UNSET
        else:
            quote = self.quote

        return_url: str | Unset | None
        if isinstance(self.return_url, Unset):
            return_url = UNSET
        else:
            return_url = self.return_url

        currency: str | Unset | None
        if isinstance(self.currency, Unset):
            currency = UNSET
        else:
            currency = self.currency

        save_card = self.save_card

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "payment_method": payment_method,
            }
        )
        if package_id is not UNSET:
            field_dict["package_id"] = package_id
        if quote is not UNSET:
            field_dict["quote"] = quote
        if return_url is not UNSET:
            field_dict["return_url"] = return_url
        if currency is not UNSET:
            field_dict["currency"] = currency
        if save_card is not UNSET:
            field_dict["save_card"] = save_card

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        payment_method = check_create_order_in_payment_method(d.pop("payment_method"))

        def _parse_package_id(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        package_id = _parse_package_id(d.pop("package_id", UNSET))

        def _parse_quote(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        quote = _parse_quote(d.pop("quote", UNSET))

        def _parse_return_url(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        return_url = _parse_return_url(d.pop("return_url", UNSET))

        def _parse_currency(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        currency = _parse_currency(d.pop("currency", UNSET))

        save_card = d.pop("save_card", UNSET)

        create_order_in = cls(
            payment_method=payment_method,
            package_id=package_id,
            quote=quote,
            return_url=return_url,
            currency=currency,
            save_card=save_card,
        )

        return create_order_in
