"""QR codes for the payer's phone: the Alipay / WeChat Pay QR string, or a USDT deposit address.

Rendered on request (a QR is a few hundred bytes of SVG), never stored.
"""

from __future__ import annotations

import io
from typing import Literal

import segno

Format = Literal["svg", "png"]


def render(content: str, fmt: Format, *, scale: int = 8) -> tuple[bytes, str]:
    """(image bytes, media type); error correction M, the usual choice for payment QR codes."""
    code = segno.make(content, error="m", micro=False)
    out = io.BytesIO()
    if fmt == "png":
        code.save(out, kind="png", scale=scale, border=2)
        return out.getvalue(), "image/png"
    code.save(out, kind="svg", scale=scale, border=2, xmldecl=False)
    return out.getvalue(), "image/svg+xml"
