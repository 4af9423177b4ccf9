"""The ledger's pagination cursor: the insertion sequence of the last item shown, opaque.

Keyset pagination on it is stable under concurrent inserts and, for one user's history, follows
balance_after order even when timestamps tie.
"""

from __future__ import annotations

import base64
import binascii

from paystream.shared.errors import BadRequest
from paystream.shared.pagination import check_cursor_length

_CURSOR_PREFIX = "seq:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    check_cursor_length(cursor)  # int() of thousands of digits raises, and costs
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("invalid cursor") from None
    value = raw.removeprefix(_CURSOR_PREFIX)
    if value == raw or not (value.isascii() and value.isdigit()) or int(value) >= 2**63:
        raise BadRequest("invalid cursor")
    return int(value)
