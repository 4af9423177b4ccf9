"""Spend throughput and latency: `POST /v1/spend` on the running ledger, from a load generator in
a separate process (`spendgen`), closed loop and open loop.

The ledger runs alone, on its own topics. Before the load, every spender gets several lots: three
paid orders each (validity P1M, P6M and none), published as checkout publishes them
(`OrderPaidV1` on `orders.events`).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from paystream.devtools.bench.spendgen import spender
from paystream.devtools.stack import Stack
from paystream.shared.events import (
    Envelope,
    GrantSpec,
    InvoiceLine,
    OrderPaidV1,
    order_paid_event_id,
)
from paystream.shared.kafka import create_producer
from paystream.shared.settings import BaseServiceSettings
from paystream.shared.topics import Topics

LOTS = (("P1M", 1100), ("P6M", 1100), (None, 1100))


async def seed(settings: BaseServiceSettings, topics: Topics, users: int) -> int:
    """Publish LOTS paid orders per user; returns how many."""
    producer = create_producer(
        settings.kafka_bootstrap, "bench-seed", security=settings.kafka_security(), linger_ms=20
    )
    await producer.start()
    now = datetime.now(UTC)
    pending = []
    try:
        for u in range(users):
            user = spender(u)
            for i, (validity, credits) in enumerate(LOTS):
                order = f"bench-spend-{u}-{i}-{uuid.uuid4().hex[:8]}"
                paid = OrderPaidV1(
                    order_id=order,
                    user_id=user,
                    package_id="standard",
                    grants=[GrantSpec(quantity=credits, validity=validity, cost_minor=10000)],
                    lines=[
                        InvoiceLine(
                            description="standard",
                            quantity=1,
                            unit_amount_minor=10000,
                            amount_minor=10000,
                        )
                    ],
                    amount_minor=10000,
                    currency="CNY",
                    paid_minor=10000,
                    paid_currency="CNY",
                    provider="stripe",
                    payment_method="stripe_checkout",
                    provider_event_id=f"evt_{order}",
                    paid_at=now,
                )
                env = Envelope.wrap(paid, source="paystream/bench", id=order_paid_event_id(order))
                pending.append(
                    await producer.send(topics.orders_events, env.to_bytes(), key=user.encode())
                )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return users * len(LOTS)


async def wait_granted(settings: BaseServiceSettings, database: str, n: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(settings.pg_dsn(database))
    try:
        deadline = started + 300
        while True:
            got = await conn.fetchval("SELECT count(*) FROM transactions WHERE kind = 'grant'")
            if got >= n:
                return time.perf_counter() - started
            if time.perf_counter() > deadline:
                raise TimeoutError(f"only {got} of {n} grants after 300 s")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def _spendgen(url: str, jwt: str, *extra: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paystream.devtools.bench.spendgen",
        "--url",
        url,
        "--jwt-secret",
        jwt,
        *extra,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"spend generator exited with {proc.returncode}")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children so far: on a shared machine
    the CPU a spend costs moves less with the other load than the rate does."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()  # noqa: SIM115
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _loadavg() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


def run(
    stack: Stack,
    jwt: str,
    *,
    users: int,
    duration: float,
    connections: int,
    rate: float,
) -> dict[str, Any]:
    """Seed, then the closed loop, then the open loop at `rate`."""
    settings = BaseServiceSettings()
    topics = Topics(stack.env.get("PAYSTREAM_TOPIC_PREFIX", ""))
    database = stack.env.get("PAYSTREAM_DATABASE", "paystream_ledger")
    url = stack.urls["ledger"]

    async def go() -> dict[str, Any]:
        n = await seed(settings, topics, users)
        seeded_s = await wait_granted(settings, database, n)
        common = ("--duration", str(duration), "--users", str(users))
        load_before = _loadavg()
        pid = stack.procs["ledger"].pid
        cpu0 = _cpu_s(pid)
        closed = await _spendgen(url, jwt, *common, "--connections", str(connections))
        cpu1 = _cpu_s(pid)
        opened = await _spendgen(url, jwt, *common, "--connections", "64", "--rate", str(rate))
        cpu2 = _cpu_s(pid)
        # Per spend answered 201, warm-up included (the generator runs 3 s before it counts).
        for figures, cpu in ((closed, cpu1 - cpu0), (opened, cpu2 - cpu1)):
            served = figures["ok"] + figures.get("warmup_ok", 0)
            figures["ledger_cpu_s"] = round(cpu, 2)
            figures["ledger_cpu_ms_per_spend"] = round(cpu / served * 1000, 3) if served else None
        return {
            "users": users,
            "lots_per_user": len(LOTS),
            "seed_s": round(seeded_s, 1),
            "loadavg_1m_before": load_before,
            "loadavg_1m_after": _loadavg(),
            "closed": closed,
            "open": opened,
        }

    return asyncio.run(go())
