"""Local stand-ins for provider APIs that need the internet (Alipay, WeChat Pay, TronGrid, and a
Stripe that can decline, which stripe-mock cannot).

Each speaks its provider's documented wire format and signature scheme, so checkout and
webhook-ingest talk to it exactly as they would to the provider. Tests start them with `serving`;
`make run` starts them as processes (`python -m paystream.devtools.fakes.<name>`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, *, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` over real HTTP on 127.0.0.1 in this event loop; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("fake server stopped before it started")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def run(app: ASGIApp, port: int) -> None:
    """Serve `app` in the foreground (the `python -m` entry points)."""
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
