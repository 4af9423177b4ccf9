"""HTTP request validation and the pagination cursor."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from paystream.ledger.repository import TransactionRow
from paystream.ledger.schemas import (
    SpendRequest,
    TransactionItem,
    decode_cursor,
    encode_cursor,
)
from paystream.shared.errors import BadRequest


def test_a_valid_spend_request() -> None:
    req = SpendRequest.model_validate({"credits": 30, "reason": "generate image"})
    assert (req.credits, req.reason) == (30, "generate image")
    assert SpendRequest.model_validate({"credits": 1, "reason": "x" * 200}).reason == "x" * 200


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
        order_id="o1" if kind != "spend" else None,
        reason="r",
        credits=credits,
        balance_after=70,
        request_hash=None,
        created_at=datetime.now(UTC),
        refund_key="stripe:re_1" if kind == "revoke" else None,
    )


def test_history_items_sign_credits_by_kind() -> None:
    assert TransactionItem.of(_row("grant", 100)).credits == 100
    assert TransactionItem.of(_row("spend", 30)).credits == -30
    revoke = TransactionItem.of(_row("revoke", 12))
    assert (revoke.kind, revoke.credits, revoke.refund_key) == ("revoke", -12, "stripe:re_1")
