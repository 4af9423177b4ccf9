from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="BillingProfileOut")


@_attrs_define
class BillingProfileOut:
    """
    Attributes:
        company_name (str):
        user_id (str):
        updated_at (datetime.datetime):
        address (str | Unset):  Default: ''.
        tax_id (str | Unset):  Default: ''.
        email (str | Unset):  Default: ''.
    """

    company_name: str
    user_id: str
    updated_at: datetime.datetime
    address: str | Unset = ""
    tax_id: str | Unset = ""
    email: str | Unset = ""

    def to_dict(self) -> dict[str, Any]:
        company_name = self.company_name

        user_id = self.user_id

        updated_at = self.updated_at.isoformat()

        address = self.address

        tax_id = self.tax_id

        email = self.email

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "company_name": company_name,
                "user_id": user_id,
                "updated_at": updated_at,
            }
        )
        if address is not UNSET:
            field_dict["address"] = address
        if tax_id is not UNSET:
            field_dict["tax_id"] = tax_id
        if email is not UNSET:
            field_dict["email"] = email

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        company_name = d.pop("company_name")

        user_id = d.pop("user_id")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        address = d.pop("address", UNSET)

        tax_id = d.pop("tax_id", UNSET)

        email = d.pop("email", UNSET)

        billing_profile_out = cls(
            company_name=company_name,
            user_id=user_id,
            updated_at=updated_at,
            address=address,
            tax_id=tax_id,
            email=email,
        )

        return billing_profile_out
