"""Load generator for signed Stripe webhooks, run as its own process.

It speaks HTTP/1.1 keep-alive over raw asyncio streams (an HTTP client library would be the
bottleneck on a 2-core machine). Two modes:
- closed loop (`--rate 0`): C connections send back to back; measures throughput.
- open loop (`--rate R`): requests are scheduled at a fixed rate; latency counts from the
  scheduled time, so a slow server cannot hide queueing (no coordinated omission).
Each request is a distinct `checkout.session.completed` for a distinct order, signed as Stripe
signs. Prints one JSON object with the figures; `--sent-log` records (order_id, send wall time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from paystream.devtools.fakes.signing import sign_stripe_payload
from paystream.devtools.stripe_events import checkout_session_completed, encode


@dataclass
class Results:
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    sent: list[tuple[str, float]] = field(default_factory=list)


def order_plan(n: int, users: int) -> list[tuple[str, str]]:
    """(order id, user id) of the orders a run pays for."""
    return [(str(uuid.uuid4()), f"bench-user-{i % users}") for i in range(n)]


def build_requests(
    n: int, host: str, secret: str, users: int, orders: list[tuple[str, str]] | None = None
) -> list[tuple[str, bytes]]:
    """Signed `checkout.session.completed` webhooks for `orders` (placed beforehand, when the
    stack has checkout), or for fresh order ids (webhook-ingest alone does not look)."""
    now = int(time.time())
    plan = orders or order_plan(n, users)
    out: list[tuple[str, bytes]] = []
    for order_id, user_id in plan[:n]:
        event = checkout_session_completed(
            order_id=order_id,
            user_id=user_id,
            credits=1100,
            amount_minor=10000,
            currency="CNY",
        )
        body = encode(event)
        sig = sign_stripe_payload(body, secret, now)
        head = (
            f"POST /webhooks/stripe HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nStripe-Signature: {sig}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append((order_id, head + body))
    return out


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        try:
            return await _read_response(self.reader)
        except Exception:
            self.writer.close()
            self.reader = self.writer = None
            raise


async def closed_loop(
    host: str, port: int, reqs: list[tuple[str, bytes]], conns: int, duration_s: float, res: Results
) -> float:
    it = iter(reqs)
    stop_at = time.perf_counter() + duration_s

    async def worker() -> None:
        c = Conn(host, port)
        for order_id, raw in it:
            if time.perf_counter() >= stop_at:
                return
            t0 = time.perf_counter()
            res.sent.append((order_id, time.time()))
            try:
                res.statuses[await c.request(raw)] += 1
                res.latencies_s.append(time.perf_counter() - t0)
            except Exception as exc:
                res.errors[type(exc).__name__] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return time.perf_counter() - started


async def open_loop(
    host: str,
    port: int,
    reqs: list[tuple[str, bytes]],
    rate: float,
    duration_s: float,
    max_conns: int,
    res: Results,
) -> float:
    idle: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(max_conns):
        idle.put_nowait(Conn(host, port))
    n = min(len(reqs), int(rate * duration_s))
    interval = 1.0 / rate
    started = time.perf_counter()
    # The wall-clock time of `started`: sent times are recorded as SCHEDULED times, so whatever a
    # request waited for (a free connection, a slow server) counts in end-to-end latency too.
    wall_started = time.time()
    tasks: list[asyncio.Task[None]] = []

    async def one(order_id: str, raw: bytes, scheduled: float) -> None:
        res.sent.append((order_id, wall_started + (scheduled - started)))
        c = await idle.get()
        try:
            res.statuses[await c.request(raw)] += 1
            res.latencies_s.append(time.perf_counter() - scheduled)
        except Exception as exc:
            res.errors[type(exc).__name__] += 1
        finally:
            idle.put_nowait(c)

    for i in range(n):
        scheduled = started + i * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        order_id, raw = reqs[i]
        tasks.append(asyncio.create_task(one(order_id, raw, scheduled)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True, help="webhook-ingest base URL")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--rate", type=float, default=0.0, help="requests/s; 0 = closed loop")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--sent-log", default=None)
    ap.add_argument(
        "--orders", default=None, help="JSON file of [order_id, user_id]: the orders to pay"
    )
    args = ap.parse_args()
    u = urlsplit(args.url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    if args.rate:
        n = int(args.rate * (args.duration + args.warmup)) + 10
    else:
        n = int(12_000 * (args.duration + args.warmup))
    orders = None
    if args.orders:
        with open(args.orders) as f:
            orders = [(o, u) for o, u in json.load(f)]
        n = min(n, len(orders))
    reqs = build_requests(n, host, args.secret, args.users, orders)

    sent: list[tuple[str, float]] = []

    async def go() -> dict[str, object]:
        warm = Results()
        w = int(args.rate * args.warmup) if args.rate else 0
        if args.rate:
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
        sent.extend(res.sent)
        ok = res.statuses.get(200, 0)
        return {
            "mode": "open" if args.rate else "closed",
            "target_rate": args.rate,
            "connections": args.connections,
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
    figures = asyncio.run(go())
    if args.sent_log:
        with open(args.sent_log, "w") as f:
            json.dump(sent, f)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
