from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="BillingProfileIn")


@_attrs_define
class BillingProfileIn:
    """The buyer as they want to appear on their invoices; captured on each one as it is issued.

    Attributes:
        company_name (str):
        address (str | Unset):  Default: ''.
        tax_id (str | Unset):  Default: ''.
        email (str | Unset):  Default: ''.
    """

    company_name: str
    address: str | Unset = ""
    tax_id: str | Unset = ""
    email: str | Unset = ""

    def to_dict(self) -> dict[str, Any]:
        company_name = self.company_name

        address = self.address

        tax_id = self.tax_id

        email = self.email

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "company_name": company_name,
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

        address = d.pop("address", UNSET)

        tax_id = d.pop("tax_id", UNSET)

        email = d.pop("email", UNSET)

        billing_profile_in = cls(
            company_name=company_name,
            address=address,
            tax_id=tax_id,
            email=email,
        )

        return billing_profile_in
