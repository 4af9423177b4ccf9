"""Opaque keyset cursors: urlsafe base64 of "<created_at iso>|<id>", newest first."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from paystream.shared.errors import BadRequest


def encode_cursor(created_at: datetime, order_id: str) -> str:
    raw = f"{created_at.isoformat()}|{order_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, order_id = raw.partition("|")
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("cursor time has no zone")
        return at, uuid.UUID(order_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("invalid cursor") from None
