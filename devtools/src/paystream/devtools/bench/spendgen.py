"""Load generator for `POST /v1/spend`, run as its own process.

The same raw HTTP/1.1 keep-alive client and the same two modes as `loadgen` (closed loop for
throughput; open loop at a fixed rate, latency from the scheduled time). Each request spends one
unit for one of `--users` users (`bench-spender-<n>`), under its own bearer token and a fresh
Idempotency-Key. Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import uuid
from urllib.parse import urlsplit

from paystream.devtools.bench.loadgen import Results, closed_loop, open_loop, percentile
from paystream.shared.auth import make_token

BODY = b'{"credits":1,"reason":"bench"}'


def spender(i: int) -> str:
    return f"bench-spender-{i:05d}"


def build_requests(n: int, host: str, secret: str, users: int) -> list[tuple[str, bytes]]:
    tokens = [make_token(spender(u), secret, ttl_s=7200) for u in range(users)]
    rnd = random.Random(5)
    out: list[tuple[str, bytes]] = []
    for _ in range(n):
        key = uuid.uuid4().hex
        head = (
            f"POST /v1/spend HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {tokens[rnd.randrange(users)]}\r\n"
            f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n"
        ).encode()
        out.append((key, head + BODY))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True, help="ledger base URL")
    ap.add_argument("--jwt-secret", required=True)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--rate", type=float, default=0.0, help="requests/s; 0 = closed loop")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--users", type=int, default=1000)
    args = ap.parse_args()
    u = urlsplit(args.url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    rate_cap = args.rate or 6_000.0
    reqs = build_requests(
        int(rate_cap * (args.duration + args.warmup)) + 10, host, args.jwt_secret, args.users
    )

    async def go() -> dict[str, object]:
        warm = Results()
        if args.rate:
            w = int(args.rate * args.warmup)
            await open_loop(host, port, reqs[:w], args.rate, args.warmup, args.connections, warm)
        else:
            await closed_loop(host, port, reqs, args.connections, args.warmup, warm)
            w = len(warm.sent)
        res = Results()
        rest = reqs[w:]
        if args.rate:
            elapsed = await open_loop(
                host, port, rest, args.rate, args.duration, args.connections, res
            )
        else:
            elapsed = await closed_loop(host, port, rest, args.connections, args.duration, res)
        ok = res.statuses.get(201, 0)
        return {
            "warmup_ok": warm.statuses.get(201, 0),
            "mode": "open" if args.rate else "closed",
            "target_rate": args.rate,
            "connections": args.connections,
            "users": args.users,
            "elapsed_s": round(elapsed, 3),
            "requests": len(res.latencies_s),
            "ok": ok,
            "statuses": {str(k): v for k, v in res.statuses.items()},
            "errors": dict(res.errors),
            "throughput_per_s": round(ok / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(percentile(res.latencies_s, 50) * 1000, 2),
            "p99_ms": round(percentile(res.latencies_s, 99) * 1000, 2),
            "max_ms": round(max(res.latencies_s, default=0) * 1000, 2),
        }

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(go())))


if __name__ == "__main__":
    main()
