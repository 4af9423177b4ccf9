from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.renew_in_payment_method_type_0 import (
    RenewInPaymentMethodType0,
    check_renew_in_payment_method_type_0,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="RenewIn")


@_attrs_define
class RenewIn:
    """
    Attributes:
        payment_method (None | RenewInPaymentMethodType0 | Unset): default: the method that paid the plan last
        return_url (None | str | Unset):
    """

    payment_method: RenewInPaymentMethodType0 | Unset | None = UNSET
    return_url: str | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        payment_method: str | Unset | None
        if isinstance(self.payment_method, Unset):
            payment_method = UNSET
        elif isinstance(self.payment_method, str):
            payment_method = self.payment_method
        else:
            payment_method = self.payment_method

        return_url: str | Unset | None
        if isinstance(self.return_url, Unset):
            return_url = UNSET
        else:
            return_url = self.return_url

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if payment_method is not UNSET:
            field_dict["payment_method"] = payment_method
        if return_url is not UNSET:
            field_dict["return_url"] = return_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_payment_method(data: object) -> RenewInPaymentMethodType0 | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                payment_method_type_0 = check_renew_in_payment_method_type_0(data)

                return payment_method_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RenewInPaymentMethodType0 | Unset, data)

        payment_method = _parse_payment_method(d.pop("payment_method", UNSET))

        def _parse_return_url(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        return_url = _parse_return_url(d.pop("return_url", UNSET))

        renew_in = cls(
            payment_method=payment_method,
            return_url=return_url,
        )

        return renew_in
