"""Times for `--from` / `--to`: ISO-8601 or "that long ago" (`90s`, `15m`, `2h`, `3d`, `1w`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from paystream.cli.errors import BadInput

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime; a time written without a zone is taken as UTC."""
    m = _RELATIVE.match(text)
    if m:
        ago = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        return (now or datetime.now(UTC)) - ago
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(
            f"cannot read time {text!r}: use ISO-8601 (2026-05-01T12:00:00Z) "
            "or a duration ago (90s, 15m, 2h, 3d, 1w)"
        ) from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def to_ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def from_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
