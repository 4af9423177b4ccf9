import base64
import uuid
from datetime import UTC, datetime

import pytest

from paystream.shared.errors import BadRequest
from paystream.shared.pagination import InvalidCursor
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
