"""Wait until a Kafka broker really answers (used by deploy/local/infra.sh).

A TCP connect is not enough: Kafka opens its listener before the broker has caught up with the
KRaft metadata log. Ready here means a metadata request is answered with at least one broker and
an elected controller.

    python deploy/local/kafka_ready.py --bootstrap 127.0.0.1:19092 --timeout 90 [--pid N]

Exit 0 when ready, 1 on timeout, 2 if the broker process (--pid) died while we waited.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time

from aiokafka.admin import AIOKafkaAdminClient


async def _probe(bootstrap: str) -> str | None:
    """None when ready, else a short reason."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        info = await admin.describe_cluster()
    except Exception as exc:  # any failure just means "not yet"
        return f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):  # closing a half-started client may fail
            await admin.close()
    if not info.get("brokers"):
        return "no broker in metadata yet"
    if info.get("controller_id") in (None, -1):
        return "no controller elected yet"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--pid", type=int, default=None, help="give up early if it dies")
    args = parser.parse_args()
    # aiokafka logs every refused connection at ERROR; while waiting those are expected.
    logging.basicConfig(level=logging.CRITICAL)

    deadline = time.monotonic() + args.timeout
    reason = "not probed"
    while time.monotonic() < deadline:
        if args.pid is not None and not _alive(args.pid):
            print(f"kafka process {args.pid} exited while waiting", file=sys.stderr)
            return 2
        reason = await _probe(args.bootstrap) or ""
        if not reason:
            return 0
        await asyncio.sleep(0.5)
    print(
        f"kafka at {args.bootstrap} not ready after {args.timeout:.0f}s: {reason}", file=sys.stderr
    )
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
