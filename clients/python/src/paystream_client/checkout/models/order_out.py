from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.order_status import OrderStatus, check_order_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.deposit_out import DepositOut
    from ..models.grant_out import GrantOut
    from ..models.line_out import LineOut
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="OrderOut")


@_attrs_define
class OrderOut:
    """
    Attributes:
        order_id (str):
        user_id (str):
        status (OrderStatus):
        kind (str): package | quantity | custom_amount | subscription | renewal | upgrade | allowance
        package_id (str): the package, product or plan the order sells
        credits_ (int): units of the order's first grant
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        payment_method (str):
        provider (None | str):
        payment_url (None | str):
        client_secret (None | str):
        payment_method_types (list[str]):
        qr_code (None | str):
        qr_image_url (None | str):
        deposit (DepositOut | None):
        provider_session_id (None | str):
        expires_at (datetime.datetime):
        created_at (datetime.datetime):
        paid_at (datetime.datetime | None):
        amount_mismatch (bool):
        refunded (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        lines (list[LineOut]): what the order charges, as the invoice shows it
        grants (list[GrantOut]): what it grants once paid
        failure_reason (None | str | Unset):
    """

    order_id: str
    user_id: str
    status: OrderStatus
    kind: str
    package_id: str
    credits_: int
    amount: MoneyOut
    payment_method: str
    provider: str | None
    payment_url: str | None
    client_secret: str | None
    payment_method_types: list[str]
    qr_code: str | None
    qr_image_url: str | None
    deposit: DepositOut | None
    provider_session_id: str | None
    expires_at: datetime.datetime
    created_at: datetime.datetime
    paid_at: datetime.datetime | None
    amount_mismatch: bool
    refunded: MoneyOut
    lines: list[LineOut]
    grants: list[GrantOut]
    failure_reason: str | Unset | None = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.deposit_out import DepositOut

        order_id = self.order_id

        user_id = self.user_id

        status: str = self.status

        kind = self.kind

        package_id = self.package_id

        credits_ = self.credits_

        amount = self.amount.to_dict()

        payment_method = self.payment_method

        provider: str | None
        provider = self.provider

        payment_url: str | None
        payment_url = self.payment_url

        client_secret: str | None
        client_secret = self.client_secret

        payment_method_types = self.payment_method_types

        qr_code: str | None
        qr_code = self.qr_code

        qr_image_url: str | None
        qr_image_url = self.qr_image_url

        deposit: dict[str, Any] | None
        if isinstance(self.deposit, DepositOut):
            deposit = self.deposit.to_dict()
        else:
            deposit = self.deposit

        provider_session_id: str | None
        provider_session_id = self.provider_session_id

        expires_at = self.expires_at.isoformat()

        created_at = self.created_at.isoformat()

        paid_at: str | None
        if isinstance(self.paid_at, datetime.datetime):
            paid_at = self.paid_at.isoformat()
        else:
            paid_at = self.paid_at

        amount_mismatch = self.amount_mismatch

        refunded = self.refunded.to_dict()

        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        grants = []
        for grants_item_data in self.grants:
            grants_item = grants_item_data.to_dict()
            grants.append(grants_item)

        failure_reason: str | Unset | None
        if isinstance(self.failure_reason, Unset):
            failure_reason = UNSET
        else:
            failure_reason = self.failure_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "order_id": order_id,
                "user_id": user_id,
                "status": status,
                "kind": kind,
                "package_id": package_id,
                "credits": credits_,
                "amount": amount,
                "payment_method": payment_method,
                "provider": provider,
                "payment_url": payment_url,
                "client_secret": client_secret,
                "payment_method_types": payment_method_types,
                "qr_code": qr_code,
                "qr_image_url": qr_image_url,
                "deposit": deposit,
                "provider_session_id": provider_session_id,
                "expires_at": expires_at,
                "created_at": created_at,
                "paid_at": paid_at,
                "amount_mismatch": amount_mismatch,
                "refunded": refunded,
                "lines": lines,
                "grants": grants,
            }
        )
        if failure_reason is not UNSET:
            field_dict["failure_reason"] = failure_reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.deposit_out import DepositOut
        from ..models.grant_out import GrantOut
        from ..models.line_out import LineOut
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        order_id = d.pop("order_id")

        user_id = d.pop("user_id")

        status = check_order_status(d.pop("status"))

        kind = d.pop("kind")

        package_id = d.pop("package_id")

        credits_ = d.pop("credits")

        amount = MoneyOut.from_dict(d.pop("amount"))

        payment_method = d.pop("payment_method")

        def _parse_provider(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        provider = _parse_provider(d.pop("provider"))

        def _parse_payment_url(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        payment_url = _parse_payment_url(d.pop("payment_url"))

        def _parse_client_secret(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        client_secret = _parse_client_secret(d.pop("client_secret"))

        payment_method_types = cast(list[str], d.pop("payment_method_types"))

        def _parse_qr_code(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        qr_code = _parse_qr_code(d.pop("qr_code"))

        def _parse_qr_image_url(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        qr_image_url = _parse_qr_image_url(d.pop("qr_image_url"))

        def _parse_deposit(data: object) -> DepositOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                deposit_type_0 = DepositOut.from_dict(data)

                return deposit_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DepositOut | None, data)

        deposit = _parse_deposit(d.pop("deposit"))

        def _parse_provider_session_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        provider_session_id = _parse_provider_session_id(d.pop("provider_session_id"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_paid_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                paid_at_type_0 = datetime.datetime.fromisoformat(data)

                return paid_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        paid_at = _parse_paid_at(d.pop("paid_at"))

        amount_mismatch = d.pop("amount_mismatch")

        refunded = MoneyOut.from_dict(d.pop("refunded"))

        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = LineOut.from_dict(lines_item_data)

            lines.append(lines_item)

        grants = []
        _grants = d.pop("grants")
        for grants_item_data in _grants:
            grants_item = GrantOut.from_dict(grants_item_data)

            grants.append(grants_item)

        def _parse_failure_reason(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        failure_reason = _parse_failure_reason(d.pop("failure_reason", UNSET))

        order_out = cls(
            order_id=order_id,
            user_id=user_id,
            status=status,
            kind=kind,
            package_id=package_id,
            credits_=credits_,
            amount=amount,
            payment_method=payment_method,
            provider=provider,
            payment_url=payment_url,
            client_secret=client_secret,
            payment_method_types=payment_method_types,
            qr_code=qr_code,
            qr_image_url=qr_image_url,
            deposit=deposit,
            provider_session_id=provider_session_id,
            expires_at=expires_at,
            created_at=created_at,
            paid_at=paid_at,
            amount_mismatch=amount_mismatch,
            refunded=refunded,
            lines=lines,
            grants=grants,
            failure_reason=failure_reason,
        )

        order_out.additional_properties = d
        return order_out

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
