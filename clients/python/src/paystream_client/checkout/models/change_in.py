from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.change_in_payment_method_type_0 import (
    ChangeInPaymentMethodType0,
    check_change_in_payment_method_type_0,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="ChangeIn")


@_attrs_define
class ChangeIn:
    """
    Attributes:
        plan_id (str):
        preview (None | str | Unset): a preview's token: the upgrade is charged exactly as previewed
        payment_method (ChangeInPaymentMethodType0 | None | Unset): pays an upgrade of a plan without recurring charges
            (default: the one that paid it last); a Stripe-billed plan's upgrade is charged to its card
        return_url (None | str | Unset):
    """

    plan_id: str
    preview: str | Unset | None = UNSET
    payment_method: ChangeInPaymentMethodType0 | Unset | None = UNSET
    return_url: str | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        plan_id = self.plan_id

        preview: str | Unset | None
        if isinstance(self.preview, Unset):
            preview = UNSET
        else:
            preview = self.preview

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

        field_dict.update(
            {
                "plan_id": plan_id,
            }
        )
        if preview is not UNSET:
            field_dict["preview"] = preview
        if payment_method is not UNSET:
            field_dict["payment_method"] = payment_method
        if return_url is not UNSET:
            field_dict["return_url"] = return_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        plan_id = d.pop("plan_id")

        def _parse_preview(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        preview = _parse_preview(d.pop("preview", UNSET))

        def _parse_payment_method(data: object) -> ChangeInPaymentMethodType0 | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                payment_method_type_0 = check_change_in_payment_method_type_0(data)

                return payment_method_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChangeInPaymentMethodType0 | None | Unset, data)

        payment_method = _parse_payment_method(d.pop("payment_method", UNSET))

        def _parse_return_url(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        return_url = _parse_return_url(d.pop("return_url", UNSET))

        change_in = cls(
            plan_id=plan_id,
            preview=preview,
            payment_method=payment_method,
            return_url=return_url,
        )

        return change_in
