import base64
import uuid
from datetime import UTC, datetime

import pytest

from paystream.shared.errors import BadRequest
from paystream.shared.pagination import InvalidCursor, keyset_page
from paystream.shared.pagination import KeysetCursor as Cursor


def test_cursor_round_trips_exactly() -> None:
    c = Cursor(datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), uuid.uuid4())
    token = c.encode()
    assert "=" not in token
    assert Cursor.decode(token) == c


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-cursor",
        "%%%",
        _b64("2026-03-01T12:00:00+00:00"),  # no id
        _b64(f"yesterday|{uuid.uuid4()}"),
        _b64("2026-03-01T12:00:00+00:00|not-a-uuid"),
        _b64(f"2026-03-01T12:00:00|{uuid.uuid4()}"),  # no timezone
        base64.urlsafe_b64encode(b"\xff\xfe|x").decode(),
    ],
)
def test_bad_cursor_is_refused(token: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(token)


def test_query_parameter_errors_are_bad_requests() -> None:
    assert Cursor.from_query(None) is None
    c = Cursor(datetime(2026, 3, 1, tzinfo=UTC), uuid.uuid4())
    assert Cursor.from_query(c.encode()) == c
    with pytest.raises(BadRequest, match="invalid cursor"):
        Cursor.from_query("not-a-cursor")


def test_keyset_page_says_whether_there_is_more() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(at, uuid.UUID(int=i)) for i in range(3)]

    def position(r: tuple[datetime, uuid.UUID]) -> Cursor:
        return Cursor(*r)

    page, cursor = keyset_page(rows, 2, position)
    assert page == rows[:2]
    assert cursor is not None
    assert Cursor.decode(cursor) == Cursor(at, uuid.UUID(int=1))
    assert keyset_page(rows[:2], 2, position) == (rows[:2], None)
    assert keyset_page([], 2, position) == ([], None)
