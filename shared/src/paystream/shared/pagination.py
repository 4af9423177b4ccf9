"""Opaque keyset cursors for lists ordered by (time, id) descending, newest first.

The token is urlsafe base64 of "<iso time>|<uuid>" of the last item shown; clients pass it back
as `?cursor=` and must not parse it.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final, TypeVar

from fastapi import Query

from paystream.shared.errors import BadRequest

# Every cursor we hand out is far shorter; a longer one is refused (400) before it is decoded.
MAX_CURSOR_LENGTH: Final = 512
# The `?cursor=` parameter of every list: not bounded by FastAPI (that would answer 422), so that
# a cursor of any length that is not ours is the same 400 invalid cursor.
CursorQuery = Annotated[
    str | None,
    Query(
        description=f"next_cursor of the previous page (opaque; at most {MAX_CURSOR_LENGTH} "
        "characters, or 400)"
    ),
]


def check_cursor_length(token: str) -> None:
    if len(token) > MAX_CURSOR_LENGTH:
        raise BadRequest(f"invalid cursor: longer than {MAX_CURSOR_LENGTH} characters")


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class KeysetCursor:
    """Keyset position in a list ordered by (at, id) descending: the last item shown."""

    at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = f"{self.at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> KeysetCursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            moment, sep, ident = raw.partition("|")
            if not sep:
                raise InvalidCursor("cursor has no id")
            at = datetime.fromisoformat(moment)
            if at.tzinfo is None:
                raise InvalidCursor("cursor time has no timezone")
            return cls(at, uuid.UUID(ident))
        except InvalidCursor:
            raise
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise InvalidCursor(f"malformed cursor: {exc}") from None

    @classmethod
    def from_query(cls, token: str | None) -> KeysetCursor | None:
        """Decode a `?cursor=` parameter; a bad one is the client's error (400 bad_request)."""
        if token is None:
            return None
        check_cursor_length(token)
        try:
            return cls.decode(token)
        except InvalidCursor as exc:
            raise BadRequest(f"invalid cursor: {exc}") from None


T = TypeVar("T")


def keyset_page(
    rows: Sequence[T], limit: int, position: Callable[[T], KeysetCursor]
) -> tuple[list[T], str | None]:
    """Split rows fetched with `LIMIT limit + 1` into the page and the cursor continuing after it.

    One row more than asked tells whether a next page exists without a count query; the cursor
    is None on the last page. `position` gives a row's place in the (time, id) order.
    """
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    return page, position(page[-1]).encode()
