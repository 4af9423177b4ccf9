from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transfer_status import TransferStatus, check_transfer_status

if TYPE_CHECKING:
    from ..models.money_out import MoneyOut


T = TypeVar("T", bound="UsdtTransferOut")


@_attrs_define
class UsdtTransferOut:
    """
    Attributes:
        id (str):
        transaction_id (str):
        event_index (int):
        from_address (str):
        to_address (str):
        amount (MoneyOut): An amount as the API shows it: `{"value": "100.00", "currency": "CNY"}`.
        expected (MoneyOut | None):
        status (TransferStatus):
        credited (bool):
        order_id (None | str):
        deposit_id (None | str):
        block_number (int | None):
        block_timestamp (datetime.datetime):
        note (None | str):
        seen_at (datetime.datetime):
    """

    id: str
    transaction_id: str
    event_index: int
    from_address: str
    to_address: str
    amount: MoneyOut
    expected: MoneyOut | None
    status: TransferStatus
    credited: bool
    order_id: str | None
    deposit_id: str | None
    block_number: int | None
    block_timestamp: datetime.datetime
    note: str | None
    seen_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.money_out import MoneyOut

        id = self.id

        transaction_id = self.transaction_id

        event_index = self.event_index

        from_address = self.from_address

        to_address = self.to_address

        amount = self.amount.to_dict()

        expected: dict[str, Any] | None
        if isinstance(self.expected, MoneyOut):
            expected = self.expected.to_dict()
        else:
            expected = self.expected

        status: str = self.status

        credited = self.credited

        order_id: str | None
        order_id = self.order_id

        deposit_id: str | None
        deposit_id = self.deposit_id

        block_number: int | None
        block_number = self.block_number

        block_timestamp = self.block_timestamp.isoformat()

        note: str | None
        note = self.note

        seen_at = self.seen_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "transaction_id": transaction_id,
                "event_index": event_index,
                "from_address": from_address,
                "to_address": to_address,
                "amount": amount,
                "expected": expected,
                "status": status,
                "credited": credited,
                "order_id": order_id,
                "deposit_id": deposit_id,
                "block_number": block_number,
                "block_timestamp": block_timestamp,
                "note": note,
                "seen_at": seen_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.money_out import MoneyOut

        d = dict(src_dict)
        id = d.pop("id")

        transaction_id = d.pop("transaction_id")

        event_index = d.pop("event_index")

        from_address = d.pop("from_address")

        to_address = d.pop("to_address")

        amount = MoneyOut.from_dict(d.pop("amount"))

        def _parse_expected(data: object) -> MoneyOut | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                expected_type_0 = MoneyOut.from_dict(data)

                return expected_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MoneyOut | None, data)

        expected = _parse_expected(d.pop("expected"))

        status = check_transfer_status(d.pop("status"))

        credited = d.pop("credited")

        def _parse_order_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        order_id = _parse_order_id(d.pop("order_id"))

        def _parse_deposit_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        deposit_id = _parse_deposit_id(d.pop("deposit_id"))

        def _parse_block_number(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        block_number = _parse_block_number(d.pop("block_number"))

        block_timestamp = datetime.datetime.fromisoformat(d.pop("block_timestamp"))

        def _parse_note(data: object) -> str | None:
            if data is None:
                return data
            return cast(None | str, data)

        note = _parse_note(d.pop("note"))

        seen_at = datetime.datetime.fromisoformat(d.pop("seen_at"))

        usdt_transfer_out = cls(
            id=id,
            transaction_id=transaction_id,
            event_index=event_index,
            from_address=from_address,
            to_address=to_address,
            amount=amount,
            expected=expected,
            status=status,
            credited=credited,
            order_id=order_id,
            deposit_id=deposit_id,
            block_number=block_number,
            block_timestamp=block_timestamp,
            note=note,
            seen_at=seen_at,
        )

        usdt_transfer_out.additional_properties = d
        return usdt_transfer_out

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
