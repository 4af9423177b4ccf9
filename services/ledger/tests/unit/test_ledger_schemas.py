"""HTTP request validation and the pagination cursor."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from paystream.ledger.books.repository import TransactionRow
from paystream.ledger.cursor import decode_cursor, encode_cursor
from paystream.ledger.history.schemas import TransactionItem
from paystream.ledger.holds.schemas import CaptureIn, HoldIn
from paystream.ledger.lots.schemas import GrantIn
from paystream.ledger.spending.schemas import SpendIn as SpendRequest
from paystream.shared.errors import BadRequest


def test_a_valid_spend_request() -> None:
    req = SpendRequest.model_validate({"credits": 30, "reason": "generate image"})
    assert (req.credits, req.reason) == (30, "generate image")
    assert SpendRequest.model_validate({"credits": 1, "reason": "x" * 200}).reason == "x" * 200
    assert req.unit == "credits"
    assert SpendRequest.model_validate({"credits": 1, "reason": "r", "unit": "receives"}).unit == (
        "receives"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"credits": 0, "reason": "r"},
        {"credits": -1, "reason": "r"},
        {"credits": "30", "reason": "r"},
        {"credits": 1.5, "reason": "r"},
        {"credits": 30.0, "reason": "r"},
        {"credits": True, "reason": "r"},
        {"credits": 2**63, "reason": "r"},
        {"credits": 2**53 + 1, "reason": "r"},
        {"credits": 1, "reason": "r", "unit": "Credits"},
        {"credits": 1, "reason": "r", "unit": ""},
        {"credits": 1, "reason": "r", "unit": "a" * 33},
        {"credits": 30, "reason": ""},
        {"credits": 30, "reason": "   "},
        {"credits": 30, "reason": "x" * 201},
        {"credits": 30, "reason": 5},
        {"credits": 30},
        {"reason": "r"},
        {"credits": 30, "reason": "r", "user_id": "someone-else"},
    ],
)
def test_invalid_spend_requests_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SpendRequest.model_validate(body)


def test_cursor_round_trips() -> None:
    for seq in (0, 1, 42, 2**63 - 1):
        assert decode_cursor(encode_cursor(seq)) == seq


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        encode_cursor(5) + "@@",
        _b64("not-a-cursor"),
        _b64("seq:"),
        _b64("seq:-1"),
        _b64("seq:1.5"),
        _b64("seq:\u00b2"),
        _b64(f"seq:{2**63}"),
        _b64("2024-01-01T00:00:00|5"),
    ],
)
def test_bad_cursors_are_bad_requests(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor)


def _row(kind: str, credits: int) -> TransactionRow:
    return TransactionRow(
        seq=1,
        id=uuid.uuid4(),
        kind=kind,
        user_id="u",
        unit="credits",
        order_id="o1" if kind != "spend" else None,
        reason="r",
        credits=credits,
        balance_after=70,
        idempotency_key=None,
        request_hash=None,
        created_at=datetime.now(UTC),
        refund_key="stripe:re_1" if kind == "revoke" else None,
        hold_id=None,
        actor=None,
        lots=((uuid.UUID(int=1), credits),),
    )


def test_history_items_sign_credits_by_kind() -> None:
    assert TransactionItem.of(_row("grant", 100)).credits == 100
    assert TransactionItem.of(_row("spend", 30)).credits == -30
    revoke = TransactionItem.of(_row("revoke", 12))
    assert (revoke.kind, revoke.credits, revoke.refund_key) == ("revoke", -12, "stripe:re_1")
    for kind, sign in (
        ("adjustment", 1),
        ("release", 1),
        ("hold", -1),
        ("capture", -1),
        ("expire", -1),
        ("void", -1),
    ):
        item = TransactionItem.of(_row(kind, 5))
        assert item.credits == sign * 5, kind
        assert [(x.lot_id, x.credits) for x in item.lots] == [(uuid.UUID(int=1), 5)]


@pytest.mark.parametrize(
    "body",
    [
        {"credits": 0, "ttl_seconds": 60},
        {"credits": 1, "ttl_seconds": 0},
        {"credits": 1, "ttl_seconds": 7 * 24 * 3600 + 1},
        {"credits": 1, "ttl_seconds": "60"},
        {"credits": 1},
        {"credits": 1, "ttl_seconds": 60, "unit": "NOPE"},
    ],
)
def test_invalid_holds_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HoldIn.model_validate(body)


def test_a_valid_hold_and_capture() -> None:
    hold = HoldIn.model_validate({"credits": 5, "ttl_seconds": 60})
    assert (hold.unit, hold.reason) == ("credits", "hold")
    assert CaptureIn.model_validate({"credits": 1}).credits == 1
    for bad in ({"credits": 0}, {"credits": -1}, {}):
        with pytest.raises(ValidationError):
            CaptureIn.model_validate(bad)


def test_an_operator_grant_takes_a_validity_or_an_expiry_not_both() -> None:
    base = {"user_id": "u", "credits": 5, "reason": "sorry"}
    assert GrantIn.model_validate(base).source == "adjustment"
    assert GrantIn.model_validate({**base, "validity": "P30D"}).validity == "P30D"
    assert GrantIn.model_validate({**base, "expires_at": "2030-01-01T00:00:00Z"}).expires_at
    for bad in (
        {"validity": "P30D", "expires_at": "2030-01-01T00:00:00Z"},
        {"validity": "thirty days"},
        {"source": "purchase"},
        {"priority": 101},
    ):
        with pytest.raises(ValidationError):
            GrantIn.model_validate({**base, **bad})
