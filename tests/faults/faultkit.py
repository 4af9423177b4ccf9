"""Fault-injection harness: one isolated paystream deployment per test on the real infrastructure.

Each test gets webhook-ingest, ledger and invoicing as separate processes (devtools' `Stack`),
with their own topics (`f<tag>.payments.events`, ...), consumer groups and databases, so a test
can kill, stop, drop and replay without touching the rest of the suite. Traffic is real: signed
Stripe webhooks over HTTP, retried on 5xx the way Stripe retries. Counts are taken directly from
the databases and the topics; the verdict comes from the operator command, `paystream verify`.

Kafka and PostgreSQL themselves are stopped and started with `deploy/local/infra.sh stop|start`
on the environment the suite runs against (`PAYSTREAM_RUN_DIR` and the `PAYSTREAM_*_PORT`s of
`make test`); a test that stops one always starts it again (try/finally).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from paystream.devtools.client import JWT_SECRET, WEBHOOK_SECRETS, Harness
from paystream.devtools.orders import SeedOrder, place_orders
from paystream.devtools.stack import SERVICES, Stack
from paystream.devtools.stripe_events import checkout_session_completed
from paystream.shared.auth import make_token
from paystream.shared.settings import BaseServiceSettings
from paystream.shared.topics import Topics, dlq

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "deploy" / "local" / "infra.sh"
REPORT = REPO / ".run" / "faults" / "report.jsonl"
# The operator command as `uv run paystream` runs it: the workspace venv's console script.
PAYSTREAM = Path(sys.executable).parent / "paystream"
# Fault stacks listen beside the e2e stack of the same environment (port base + 1..4).
PORT_OFFSET = 500
RUN_ID = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---- infrastructure control ----------------------------------------------------------------------


def infra_env() -> dict[str, str]:
    """The environment infra.sh needs to act on the SAME run dir and ports as the suite.

    `infra.sh env` exports the bootstrap address but not the Kafka ports; a start with default
    ports would rewrite this run dir's broker config, so they are derived and checked here.
    """
    env = dict(os.environ)
    bootstrap = env.get("PAYSTREAM_KAFKA_BOOTSTRAP", "")
    port = bootstrap.rsplit(":", 1)[-1]
    if env.setdefault("PAYSTREAM_KAFKA_PORT", port) != port:
        pytest.fail(f"PAYSTREAM_KAFKA_PORT={env['PAYSTREAM_KAFKA_PORT']} but bootstrap {bootstrap}")
    if "PAYSTREAM_KAFKA_CONTROLLER_PORT" not in env:
        # The controller port is the one the broker of this run dir was started with.
        props = Path(env.get("PAYSTREAM_RUN_DIR", REPO / ".run" / "dev")) / "kafka"
        for line in (props / "server.properties").read_text().splitlines():
            if line.startswith("controller.quorum.bootstrap.servers="):
                env["PAYSTREAM_KAFKA_CONTROLLER_PORT"] = line.rsplit(":", 1)[-1].strip()
    _outside_ephemeral_ports(int(env["PAYSTREAM_KAFKA_PORT"]), int(env["PAYSTREAM_PG_PORT"]))
    return env


def _outside_ephemeral_ports(*ports: int) -> None:
    """A server port inside the kernel's ephemeral range cannot be restarted reliably: while it
    is down, a client reconnecting to 127.0.0.1:P may be given P as its own source port and
    connect to itself (TCP simultaneous open), and the restarted server then fails to bind."""
    lo, hi = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    inside = [p for p in ports if lo <= p <= hi]
    if inside:
        pytest.fail(
            f"ports {inside} are in the ephemeral range {lo}-{hi}: a stopped broker or database "
            "there may not be able to bind again; use ports below it (make test uses 29092/25432)"
        )


async def infra(action: str, component: str) -> float:
    """`deploy/local/infra.sh stop|start kafka|postgres`; returns how long it took."""
    started = time.monotonic()
    if "PAYSTREAM_CONTAINERS" in os.environ:
        # The infrastructure runs in containers (testcontainers, where a Docker engine answers).
        from paystream.devtools.containers import control

        await asyncio.to_thread(control, component, action)
        return time.monotonic() - started
    proc = await asyncio.create_subprocess_exec(
        str(INFRA),
        action,
        component,
        env=infra_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, f"infra.sh {action} {component}: {out.decode()}"
    return time.monotonic() - started


# ---- traffic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """One paid order, announced by one Stripe webhook (its id fixed, so a resend is the same
    event, as when Stripe retries)."""

    order_id: str
    user_id: str
    credits: int
    amount_minor: int
    event_id: str

    def event(self) -> dict[str, Any]:
        return checkout_session_completed(
            order_id=self.order_id,
            user_id=self.user_id,
            credits=self.credits,
            amount_minor=self.amount_minor,
            currency="CNY",
            event_id=self.event_id,
            session_id=f"cs_{self.order_id}",
            payment_intent_id=f"pi_{self.order_id}",
        )


PACKAGES = ((100, 1000), (550, 5000), (1200, 10000))


def order_id(tag: str, name: str) -> str:
    """A checkout order id (a UUID), the same for the same tag and name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"paystream-faults/{tag}/{name}"))


def make_payments(tag: str, n: int, users: int, seed: int = 7) -> list[Payment]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        credits, amount = rnd.choice(PACKAGES)
        out.append(
            Payment(
                order_id=order_id(tag, f"{i:05d}"),
                user_id=f"u-{tag}-{i % users:04d}",
                credits=credits,
                amount_minor=amount,
                event_id=f"evt_{tag}_{i:05d}",
            )
        )
    return out


@dataclass
class Delivery:
    """What the webhook client saw: acknowledged (2xx) or refused (5xx, then retried)."""

    sent: int = 0  # webhooks (distinct events) the client set out to deliver
    requests: int = 0
    acknowledged: set[str] = field(default_factory=set)  # order ids answered 2xx
    refused_5xx: int = 0  # 5xx answers (each followed by a retry)
    refused_orders: set[str] = field(default_factory=set)
    transport_errors: int = 0
    first_refused_at: float | None = None
    last_refused_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "requests": self.requests,
            "acknowledged": len(self.acknowledged),
            "refused_5xx": self.refused_5xx,
            "refused_then_acknowledged": len(self.refused_orders & self.acknowledged),
            "transport_errors": self.transport_errors,
        }


class WebhookClient:
    """Plays Stripe: signs each delivery afresh, retries 5xx and network errors until a 2xx.

    `rate` (requests/s, 0 = as fast as `concurrency` allows) spreads the traffic over time, so
    a fault injected meanwhile lands in the middle of it.
    """

    def __init__(
        self, harness: Harness, *, concurrency: int = 16, rate: float = 0, retry_s: float = 0.5
    ) -> None:
        self.harness = harness
        self.concurrency = concurrency
        self.interval = 1 / rate if rate else 0.0
        self.retry_s = retry_s
        self.delivery = Delivery()
        self._next_slot = 0.0

    async def _pace(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def deliver(self, payments: Iterable[Payment], *, timeout_s: float = 180) -> Delivery:
        items = list(payments)
        self.delivery.sent += len({p.event_id for p in items})
        queue: asyncio.Queue[Payment] = asyncio.Queue()
        for p in items:
            queue.put_nowait(p)
        pending = len(items)
        done = asyncio.Event()
        errors: list[str] = []
        if pending == 0:
            return self.delivery
        retries: set[asyncio.Task[None]] = set()

        async def retry_later(p: Payment) -> None:
            await asyncio.sleep(self.retry_s)
            queue.put_nowait(p)

        async def worker() -> None:
            nonlocal pending
            while True:
                p = await queue.get()
                await self._pace()
                self.delivery.requests += 1
                status: int | None = None
                try:
                    r = await self.harness.send_webhook(p.event())
                    status = r.status_code
                except httpx.HTTPError:
                    self.delivery.transport_errors += 1
                if status is not None and 200 <= status < 300:
                    self.delivery.acknowledged.add(p.order_id)
                    pending -= 1
                    if pending == 0:
                        done.set()
                    continue
                if status is not None and status < 500:
                    errors.append(f"{p.order_id}: {status} {r.text}")
                    done.set()
                    return
                if status is not None:
                    self.delivery.refused_5xx += 1
                    self.delivery.refused_orders.add(p.order_id)
                    now = time.monotonic()
                    self.delivery.first_refused_at = self.delivery.first_refused_at or now
                    self.delivery.last_refused_at = now
                t = asyncio.create_task(retry_later(p))
                retries.add(t)
                t.add_done_callback(retries.discard)

        workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
        try:
            await asyncio.wait_for(done.wait(), timeout=timeout_s)
        finally:
            for w in [*workers, *retries]:
                w.cancel()
            await asyncio.gather(*workers, *retries, return_exceptions=True)
        assert not errors, f"webhooks refused with 4xx: {errors[:5]}"
        return self.delivery


def interleave_keeping_user_order(
    per_user: dict[str, list[Payment]], seed: int = 11
) -> list[Payment]:
    """A random merge of the users' sequences: shuffled across users, each user's order kept."""
    rnd = random.Random(seed)
    queues = {u: list(ps) for u, ps in per_user.items() if ps}
    out: list[Payment] = []
    # Weighted by what is left, so every interleaving is possible and long queues do not trail.
    while queues:
        users = list(queues)
        u = rnd.choices(users, weights=[len(queues[x]) for x in users])[0]
        out.append(queues[u].pop(0))
        if not queues[u]:
            del queues[u]
    return out


# ---- one isolated deployment -----------------------------------------------------------------


SERVICE_NAMES = ("checkout", "webhook-ingest", "ledger", "invoicing")


class Deployment:
    """checkout, webhook-ingest, ledger and invoicing with their own topics, groups and
    databases. Checkout is the authority on what a payment grants: every payment a test sends
    is for an order placed in its database first (`place_orders`)."""

    def __init__(self, settings: BaseServiceSettings, tag: str) -> None:
        self.settings = settings
        self.tag = tag
        prefix = f"f{tag}"
        # Every topic of the deployment behind its own prefix (the services get the prefix).
        self.topic_names = Topics(f"{prefix}.")
        self.payments_topic = self.topic_names.payments_events
        self.raw_topic = self.topic_names.webhooks_raw
        self.ledger_events_topic = self.topic_names.ledger_events
        self.topics = [s.name for s in self.topic_names.specs()]
        self.ledger_group = f"{prefix}.ledger"
        self.invoicing_group = f"{prefix}.invoicing"
        self.checkout_group = f"{prefix}.checkout"
        self.ledger_db = f"{prefix}_ledger"
        self.invoicing_db = f"{prefix}_invoicing"
        self.checkout_db = f"{prefix}_checkout"
        self.orders_topic = self.topic_names.orders_events
        self.port_base = int(os.environ.get("PAYSTREAM_PORT_BASE", "18000")) + PORT_OFFSET
        run_dir = Path(os.environ.get("PAYSTREAM_RUN_DIR", REPO / ".run" / "test"))
        self.log_dir = run_dir / "logs" / "faults" / prefix
        self.stacks: dict[str, Stack] = {}
        self.operator_token = make_token("fault-tests", JWT_SECRET, role="admin")
        self.http = httpx.AsyncClient(
            timeout=30.0, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)
        )
        self.harness = Harness(urls=self.urls, http=self.http)

    @property
    def urls(self) -> dict[str, str]:
        return {
            name: f"http://127.0.0.1:{self.port_base + off}"
            for name, _, off in SERVICES
            if name in SERVICE_NAMES
        }

    # -- lifecycle --

    async def create(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(s.name, s.partitions, 1) for s in self.topic_names.specs()]
            )
        finally:
            await admin.close()
        for db in (self.ledger_db, self.invoicing_db, self.checkout_db):
            await self.admin_sql(f'CREATE DATABASE "{db}"')

    async def destroy(self) -> None:
        for name in list(self.stacks):
            await asyncio.to_thread(self.stacks.pop(name).stop)
        await self.harness.aclose()
        await self.http.aclose()
        for db in (self.ledger_db, self.invoicing_db, self.checkout_db):
            with contextlib.suppress(Exception):
                await self.admin_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        with contextlib.suppress(Exception):
            await admin.start()
            await admin.delete_topics(self.topics)
        with contextlib.suppress(Exception):
            await admin.close()

    def env_for(self, name: str) -> dict[str, str]:
        env = {
            "PAYSTREAM_JWT_SECRET": JWT_SECRET,
            "PAYSTREAM_STRIPE_WEBHOOK_SECRETS": ",".join(WEBHOOK_SECRETS),
            "PAYSTREAM_LOG_LEVEL": "WARNING",
            "PAYSTREAM_KAFKA_ACK_TIMEOUT_S": "2",
            "PAYSTREAM_TOPIC_PREFIX": self.topic_names.prefix,
            "PAYSTREAM_LEDGER_CONSUMER_GROUP": self.ledger_group,
            # As the end-to-end stack: time-driven behaviour can be moved forward over HTTP.
            "PAYSTREAM_SANDBOX": "true",
            "PAYSTREAM_INVOICING_CONSUMER_GROUP": self.invoicing_group,
            "PAYSTREAM_CHECKOUT_CONSUMER_GROUP": self.checkout_group,
        }
        if name == "ledger":
            env["PAYSTREAM_DATABASE"] = self.ledger_db
        if name == "invoicing":
            env["PAYSTREAM_DATABASE"] = self.invoicing_db
        if name == "checkout":
            env["PAYSTREAM_DATABASE"] = self.checkout_db
        return env

    def start(self, *names: str) -> None:
        for name in names or SERVICE_NAMES:
            self.start_instance(name, 0)

    def start_instance(self, name: str, instance: int) -> str:
        """Start one more process of a service (instance 0 is the one `start` starts, on the
        deployment's ports; instance i listens 10*i ports higher, its log beside). Returns the
        key that `kill9`, `stop` and `ready` take: the name, then `name#i`."""
        key = name if instance == 0 else f"{name}#{instance}"
        assert key not in self.stacks, f"{key} already running"
        stack = Stack(
            port_base=self.port_base + 10 * instance,
            log_dir=self.log_dir / (f"instance-{instance}" if instance else ""),
            env=self.env_for(name),
            only=(name,),
        )
        stack.start()
        self.stacks[key] = stack
        return key

    def instance_url(self, name: str, instance: int) -> str:
        off = next(o for n, _, o in SERVICES if n == name)
        return f"http://127.0.0.1:{self.port_base + 10 * instance + off}"

    async def ready(self, *names: str, timeout_s: float = 120) -> float:
        started = time.monotonic()
        await asyncio.gather(
            *(
                asyncio.to_thread(self.stacks[n].wait_ready, timeout_s)
                for n in (names or tuple(self.stacks))
            )
        )
        return time.monotonic() - started

    def kill9(self, name: str) -> None:
        """SIGKILL the service's whole process group: no shutdown code runs."""
        stack = self.stacks.pop(name)
        proc = stack.procs.pop(name.split("#")[0])
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        stack.stop()

    def pause(self, *names: str) -> None:
        """SIGSTOP the services' process groups: alive (sockets, group membership) but doing
        nothing, as under a long GC pause or a starved host, until `resume`. Kafka's session
        timeout (10 s) is longer than any pause the tests make."""
        self._signal(signal.SIGSTOP, names)

    def resume(self, *names: str) -> None:
        self._signal(signal.SIGCONT, names)

    def _signal(self, sig: signal.Signals, names: tuple[str, ...]) -> None:
        for name in names:
            os.killpg(self.stacks[name].procs[name.split("#")[0]].pid, sig)

    async def stop(self, name: str) -> None:
        """SIGTERM: a clean stop (the consumer leaves its group)."""
        await asyncio.to_thread(self.stacks.pop(name).stop)

    async def metric(self, service: str, name: str, **labels: str) -> float:
        """The sum of a Prometheus counter's samples matching `labels`, from /metrics."""
        r = await self.http.get(f"{self.urls[service]}/metrics")
        assert r.status_code == 200, r.text
        return sum(
            s.value
            for fam in text_string_to_metric_families(r.text)
            for s in fam.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    # -- databases --

    def dsn(self, db: str) -> str:
        return self.settings.pg_dsn(db)

    async def admin_sql(self, sql: str) -> None:
        conn = await asyncpg.connect(self.dsn("postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def fetch(self, db: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """A fresh connection per query: the server may have been restarted under a pool."""
        conn = await asyncpg.connect(self.dsn(db), timeout=5)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def place_orders(self, payments: Iterable[Payment]) -> None:
        """The orders the payments pay for, placed in checkout's database as checkout places
        them: a payment for an order checkout never placed grants nothing."""
        await place_orders(
            self.dsn(self.checkout_db),
            (SeedOrder(p.order_id, p.user_id, p.credits, p.amount_minor) for p in payments),
        )

    async def grants(self) -> dict[str, list[asyncpg.Record]]:
        rows = await self.fetch(
            self.ledger_db,
            "SELECT order_id, user_id, credits FROM transactions WHERE kind = 'grant'",
        )
        out: dict[str, list[asyncpg.Record]] = {}
        for r in rows:
            out.setdefault(r["order_id"], []).append(r)
        return out

    async def invoiced_orders(self) -> list[str]:
        rows = await self.fetch(self.invoicing_db, "SELECT order_id FROM invoices")
        return [r["order_id"] for r in rows]

    async def balances(self) -> dict[str, int]:
        """What each user's lots still hold (all units: the payments grant credits only)."""
        rows = await self.fetch(
            self.ledger_db, "SELECT user_id, sum(remaining)::bigint AS n FROM lots GROUP BY 1"
        )
        return {r["user_id"]: int(r["n"]) for r in rows}

    async def ledger_dump(self) -> dict[str, Any]:
        """The ledger's state, table by table, in an order that does not depend on insertion
        (the global seq columns are left out: they number rows in insertion order). A database
        restored from the journal has the same ids, times and balances: everything is kept.
        `history` is each user's transactions in their order, `balances` what each user's lots
        hold, `system` each system account's balance (the sum of its postings)."""
        db = self.ledger_db
        txs = await self.fetch(
            db,
            "SELECT user_id, id::text AS id, kind, unit, order_id, event_id::text AS event_id,"
            " reason, credits, balance_after, created_at, idempotency_key, request_hash,"
            " refund_key, hold_id::text AS hold_id, actor, cost_minor FROM transactions"
            " ORDER BY seq",
        )
        history: dict[str, list[dict[str, Any]]] = {}
        for t in txs:
            history.setdefault(t["user_id"], []).append(
                {k: v for k, v in t.items() if k != "user_id"}
            )
        tables = {
            "lots": "SELECT id, user_id, unit, source, credits, remaining, held, effective_at,"
            " expires_at, validity_rule, priority, cost_minor, cost_currency, order_id,"
            " order_line, transaction_id, created_at, expired_at, expired, voided_at FROM lots"
            " ORDER BY id",
            "lot_entries": "SELECT * FROM lot_entries ORDER BY transaction_id, lot_id",
            "postings": "SELECT * FROM postings ORDER BY transaction_id, account_id",
            "holds": "SELECT id, user_id, unit, credits, captured, released, status, expires_at,"
            " idempotency_key, transaction_id, settled_at FROM holds ORDER BY id",
            "refunds": "SELECT id, refund_key, unit, credits_due, credits_taken, shortfall,"
            " transaction_id FROM refunds WHERE status <> 'pending' ORDER BY id",
            "thresholds": "SELECT user_id, unit, threshold, below FROM balance_thresholds"
            " ORDER BY user_id, unit",
            "accounts": "SELECT id FROM accounts ORDER BY id",
        }
        out: dict[str, Any] = {
            name: [tuple(r) for r in await self.fetch(db, sql)] for name, sql in tables.items()
        }
        out["history"] = history
        out["balances"] = await self.balances()
        system = await self.fetch(
            db,
            "SELECT account_id, sum(amount)::bigint AS n FROM postings"
            " WHERE account_id LIKE 'system:%' GROUP BY 1 ORDER BY 1",
        )
        out["system"] = {r["account_id"]: int(r["n"]) for r in system}
        return out

    async def outbox_drained(self, timeout_s: float = 60) -> None:
        """Until the ledger published everything it wrote (its journal is complete)."""

        async def empty() -> bool:
            return not (await self.fetch(self.ledger_db, "SELECT 1 FROM outbox LIMIT 1"))

        await until(empty, timeout_s, "the ledger's outbox drained")

    async def restore_ledger(self) -> dict[str, Any]:
        """`python -m paystream.ledger restore` with the ledger's settings: the database rebuilt
        from its journal (ledger.events)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "paystream.ledger",
            "restore",
            env={**os.environ, **self.env_for("ledger")},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=300)
        assert proc.returncode == 0, out.decode()
        line = out.decode().strip().splitlines()[-1]
        numbers = [int(x) for x in line.replace(",", " ").split() if x.isdigit()]
        return {"restore_output": line, "restored_events": numbers[0] if numbers else None}

    async def wait_applied(
        self, orders: set[str], timeout_s: float = 180, *, ledger_only: bool = False
    ) -> float:
        """Until every given order has a grant (and an invoice); returns the seconds waited."""
        started = time.monotonic()
        deadline = started + timeout_s
        granted: set[str] = set()
        invoiced: set[str] = set()
        while True:
            try:
                granted = set(await self.grants())
                invoiced = orders if ledger_only else set(await self.invoiced_orders())
                if orders <= granted and orders <= invoiced:
                    return time.monotonic() - started
            except (TimeoutError, OSError, asyncpg.PostgresError):
                pass  # the database is coming back
            if time.monotonic() > deadline:
                pytest.fail(
                    f"not applied within {timeout_s}s: "
                    f"{len(orders - granted)} grants, {len(orders - invoiced)} invoices missing"
                )
            await asyncio.sleep(0.25)

    # -- topics --

    async def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap)
        await consumer.start()
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            if not parts:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            ends = await consumer.end_offsets(tps)
            return {tp.partition: off for tp, off in ends.items()}
        finally:
            await consumer.stop()

    async def dead_letter_count(self) -> int:
        """Dead letters on every dead-letter topic of the deployment."""
        total = 0
        for topic in (self.payments_topic, self.orders_topic, self.ledger_events_topic):
            total += sum((await self.end_offsets(dlq(topic))).values())
        return total

    async def publish_raw(self, key: str, value: bytes) -> tuple[int, int]:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            md = await producer.send_and_wait(self.payments_topic, value, key=key.encode())
            return md.partition, md.offset
        finally:
            await producer.stop()

    # -- the operator command --

    def cli_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PAYSTREAM_JWT_SECRET": JWT_SECRET,
            "PAYSTREAM_OPERATOR_TOKEN": self.operator_token,
            "PAYSTREAM_LEDGER_DATABASE": self.ledger_db,
            "PAYSTREAM_INVOICING_DATABASE": self.invoicing_db,
            "PAYSTREAM_CHECKOUT_DATABASE": self.checkout_db,
            "PAYSTREAM_TOPIC_PREFIX": self.topic_names.prefix,
            "PAYSTREAM_CLI_GROUP": f"f{self.tag}.paystream-cli",
        }

    async def cli(self, *args: str, expect_rc: int | None = 0) -> dict[str, Any]:
        """Run `paystream ARGS --json`; returns its JSON document."""
        proc = await asyncio.create_subprocess_exec(
            str(PAYSTREAM),
            *args,
            "--json",
            env=self.cli_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        what = (
            f"paystream {' '.join(args)} --json -> rc {proc.returncode}\n"
            f"{out.decode()}\n{err.decode()}"
        )
        if expect_rc is not None:
            assert proc.returncode == expect_rc, what
        try:
            doc: dict[str, Any] = json.loads(out)
        except json.JSONDecodeError:
            pytest.fail(f"not JSON: {what}")
        doc["_rc"] = proc.returncode
        return doc

    async def verify(self) -> dict[str, Any]:
        """`paystream verify` over this deployment; must find no difference."""
        doc = await self.cli("verify", expect_rc=None)
        assert doc["_rc"] == 0, doc
        assert doc["ok"] is True, doc
        assert doc["differences"] == 0, doc
        return doc

    # -- the figures --

    async def tally(
        self,
        payments: list[Payment],
        acknowledged: set[str],
        spent: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Exact checks against the databases: every acknowledged payment granted once and
        invoiced once, every balance equal to the credits of its user's payments (less what the
        test spent of them)."""
        grants = await self.grants()
        invoiced = await self.invoiced_orders()
        by_order = {p.order_id: p for p in payments}
        duplicates = sum(len(g) - 1 for g in grants.values() if len(g) > 1)
        duplicates += len(invoiced) - len(set(invoiced))
        lost = {o for o in acknowledged if o not in grants or o not in set(invoiced)}
        expected: dict[str, int] = {}
        for o in acknowledged:
            p = by_order[o]
            expected[p.user_id] = expected.get(p.user_id, 0) + p.credits
        for user, n in (spent or {}).items():
            expected[user] -= n
        balances = await self.balances()
        wrong = {u: (balances.get(u), c) for u, c in expected.items() if balances.get(u) != c}
        wrong_credits = [
            o for o, g in grants.items() if o in by_order and g[0]["credits"] != by_order[o].credits
        ]
        return {
            "applied": len([o for o in acknowledged if o in grants]),
            "invoiced": len(set(invoiced) & acknowledged),
            "duplicates": duplicates,
            "lost": len(lost),
            "wrong_balances": len(wrong),
            "wrong_credits": len(wrong_credits),
            "unexpected": len(set(grants) - set(by_order)),
        }


async def until(check: Any, timeout_s: float = 60, what: str = "condition") -> float:
    """Poll an async predicate; returns the seconds it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"{what} not reached within {timeout_s}s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def record(test: str, figures: dict[str, Any]) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    line = {"run": RUN_ID, "test": test, **figures}
    with REPORT.open("a") as f:
        f.write(json.dumps(line, sort_keys=False) + "\n")


# ---- the skeleton every test shares --------------------------------------------------------


async def started(d: Deployment) -> Deployment:
    """The deployment's four services started and ready."""
    d.start()
    await d.ready()
    return d


@dataclass
class Traffic:
    """Signed webhooks for `payments` being delivered in the background by `client`."""

    payments: list[Payment]
    client: WebhookClient
    task: asyncio.Task[Delivery]

    async def delivered(self) -> Delivery:
        """Once every webhook was acknowledged (after the retries the fault caused)."""
        return await self.task


def send(
    d: Deployment,
    payments: list[Payment],
    *,
    timeout_s: float = 180,
    concurrency: int = 16,
    rate: float = 0,
    retry_s: float = 0.5,
) -> Traffic:
    """Start delivering `payments` as Stripe would, in the background, once their orders are
    placed in checkout."""
    client = WebhookClient(d.harness, concurrency=concurrency, rate=rate, retry_s=retry_s)

    async def placed_then_delivered() -> Delivery:
        await d.place_orders(payments)
        return await client.deliver(payments, timeout_s=timeout_s)

    return Traffic(payments, client, asyncio.create_task(placed_then_delivered()))


async def no_loss(
    d: Deployment,
    payments: list[Payment],
    acknowledged: set[str],
    spent: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The exact checks every test ends with: nothing lost, nothing doubled, every balance and
    grant right, and `paystream verify` agrees; returns the figures."""
    figures = await d.tally(payments, acknowledged, spent)
    assert figures["lost"] == 0, figures
    assert figures["duplicates"] == 0, figures
    assert figures["wrong_balances"] == 0, figures
    assert figures["wrong_credits"] == 0, figures
    assert figures["unexpected"] == 0, figures
    verdict = await d.verify()
    figures["verify_payments"] = verdict["payments"]
    figures["verify_grants"] = verdict["grants"]
    figures["verify_invoices"] = verdict["invoices"]
    return figures


async def finish(
    d: Deployment, test: str, payments: list[Payment], delivery: Delivery, **extra: Any
) -> dict[str, Any]:
    """No dead letter, the exact checks, then the test's line in the report: the delivery
    figures, the checks' figures and `extra`."""
    assert await d.dead_letter_count() == 0
    figures = await no_loss(d, payments, delivery.acknowledged)
    record(test, {**delivery.as_dict(), **figures, **extra})
    return figures
