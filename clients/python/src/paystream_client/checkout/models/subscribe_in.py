from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.subscribe_in_payment_method import (
    SubscribeInPaymentMethod,
    check_subscribe_in_payment_method,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="SubscribeIn")


@_attrs_define
class SubscribeIn:
    """
    Attributes:
        plan_id (str):
        payment_method (SubscribeInPaymentMethod): stripe_checkout: Stripe Subscriptions charge every period; alipay_qr,
            alipay_page, wechat_pay_native, usdt_trc20: an order per period, with a reminder
        currency (None | str | Unset):
        return_url (None | str | Unset):
    """

    plan_id: str
    payment_method: SubscribeInPaymentMethod
    currency: str | Unset | None = UNSET
    return_url: str | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        plan_id = self.plan_id

        payment_method: str = self.payment_method

        currency: str | Unset | None
        if isinstance(self.currency, Unset):
            currency = UNSET
        else:
            currency = self.currency

        return_url: str | Unset | None
        if isinstance(self.return_url, Unset):
            return_url = UNSET
        else:
            return_url = self.return_url

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "plan_id": plan_id,
                "payment_method": payment_method,
            }
        )
        if currency is not UNSET:
            field_dict["currency"] = currency
        if return_url is not UNSET:
            field_dict["return_url"] = return_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        plan_id = d.pop("plan_id")

        payment_method = check_subscribe_in_payment_method(d.pop("payment_method"))

        def _parse_currency(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        currency = _parse_currency(d.pop("currency", UNSET))

        def _parse_return_url(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        return_url = _parse_return_url(d.pop("return_url", UNSET))

        subscribe_in = cls(
            plan_id=plan_id,
            payment_method=payment_method,
            currency=currency,
            return_url=return_url,
        )

        return subscribe_in
