"""Kafka over TLS with SASL/SCRAM and ACLs (PAYSTREAM_KAFKA_SECURITY_PROTOCOL and the
PAYSTREAM_KAFKA_SSL_* / PAYSTREAM_KAFKA_SASL_* settings), against a real broker.

The suite's broker stays plaintext (the local stack may); this module starts a second one
(`kafkasec.SecureKafka`): SASL_SSL only, SCRAM-SHA-512 users, no access without an ACL, and the
ACLs of deploy/kafka/acls.toml. Every client here is built the way paystream builds its own,
from `KafkaSecurity`: shared's producer, admin client, FastStream broker and batch consumer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from kafkasec import ADMIN, SecureKafka, load_acls, run_dir

from paystream.devtools.orders import order_paid
from paystream.devtools.payers import send_stripe_event
from paystream.devtools.stack import Stack
from paystream.devtools.stripe_events import checkout_session_completed
from paystream.notifications.providers.stripe.settings import DEV_WEBHOOK_SECRET
from paystream.shared.db import Connection, create_pool
from paystream.shared.events import Envelope, OrderPaidV1
from paystream.shared.kafka import (
    BatchConsumer,
    Consumed,
    create_broker,
    create_producer,
    envelope_headers,
)
from paystream.shared.kafka_security import KafkaSecurity
from paystream.shared.settings import BaseServiceSettings
from paystream.shared.topics import ORDERS_EVENTS, PAYMENTS_EVENTS, TOPICS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LEDGER_MIGRATIONS = REPO / "services" / "ledger" / "migrations"


@pytest.fixture(scope="module")
def acls() -> ModuleType:
    return load_acls()


@pytest.fixture(scope="module")
def users(acls: ModuleType) -> dict[str, str]:
    users: dict[str, str] = acls.service_users()
    return users


@pytest.fixture(scope="module")
def secure_kafka(acls: ModuleType) -> Iterator[SecureKafka]:
    kafka = SecureKafka(run_dir() / f"kafka-sasl-{uuid.uuid4().hex[:8]}")
    try:
        kafka.start(acls)
        asyncio.run(kafka.ready(acls))
        yield kafka
    finally:
        kafka.stop()


async def _produce(kafka: SecureKafka, security: KafkaSecurity, topic: str, value: bytes) -> None:
    producer = create_producer(kafka.bootstrap, "test", security=security, request_timeout_ms=5000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"u1")
    finally:
        await producer.stop()


async def _consume_and_commit(
    kafka: SecureKafka, user: str, group: str, topic: str, value: bytes
) -> None:
    """Read `topic` with `group` as `user` until `value` arrives, then commit the group."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **kafka.security(user).client_options(),
    )
    await consumer.start()
    try:
        seen: list[bytes] = []
        async with asyncio.timeout(30):
            while value not in seen:
                batch = await consumer.getmany(timeout_ms=500)
                seen += [r.value for records in batch.values() for r in records if r.value]
        await consumer.commit()
    finally:
        await consumer.stop()


async def test_a_service_user_produces_and_another_consumes_over_sasl_ssl(
    secure_kafka: SecureKafka, users: dict[str, str]
) -> None:
    value = f"payment {uuid.uuid4()}".encode()
    await _produce(
        secure_kafka, secure_kafka.security(users["webhook-ingest"]), PAYMENTS_EVENTS, value
    )
    # checkout may READ payments.events and its own group (the commit).
    await _consume_and_commit(secure_kafka, users["checkout"], "checkout", PAYMENTS_EVENTS, value)


def _writers(acls: ModuleType) -> dict[tuple[str, str], bool]:
    """(user, topic) -> may write, for every service user and the two topics that say what a
    payment grants."""
    allowed = {(a.user, a.name) for a in acls.acls() if a.operation == "Write"}
    return {
        (user, topic): (user, topic) in allowed
        for user in acls.service_users().values()
        for topic in (PAYMENTS_EVENTS, ORDERS_EVENTS)
    }


def test_only_webhook_ingest_and_checkout_may_write_payments_and_only_checkout_orders(
    acls: ModuleType, users: dict[str, str]
) -> None:
    writers = _writers(acls)
    assert {u for (u, t), ok in writers.items() if ok and t == PAYMENTS_EVENTS} == {
        users["webhook-ingest"],
        users["checkout"],
    }
    assert {u for (u, t), ok in writers.items() if ok and t == ORDERS_EVENTS} == {users["checkout"]}


async def test_the_broker_enforces_who_may_write_payments_and_orders(
    secure_kafka: SecureKafka, acls: ModuleType
) -> None:
    refused: list[tuple[str, str]] = []
    for (user, topic), allowed in _writers(acls).items():
        try:
            await _produce(secure_kafka, secure_kafka.security(user), topic, b"forged")
        except TopicAuthorizationFailedError:
            refused.append((user, topic))
            assert not allowed, f"{user} may write {topic} but was refused"
        else:
            assert allowed, f"{user} wrote {topic} without an ACL"
    assert (acls.service_users()["ledger"], PAYMENTS_EVENTS) in refused


async def test_ledger_may_not_forge_a_payment(
    secure_kafka: SecureKafka, users: dict[str, str]
) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(
            secure_kafka, secure_kafka.security(users["ledger"]), PAYMENTS_EVENTS, b"forged"
        )


def _why_unreachable(caplog: pytest.LogCaptureFixture) -> str:
    """What aiokafka logged when it could not bootstrap (its error says only that it could not)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("aiokafka"))


@pytest.mark.parametrize("who", ["a wrong password", "an unknown user"])
async def test_a_client_that_fails_authentication_is_refused_at_connect(
    secure_kafka: SecureKafka, users: dict[str, str], who: str, caplog: pytest.LogCaptureFixture
) -> None:
    security = (
        secure_kafka.security(users["checkout"], password="not-the-password")
        if who == "a wrong password"
        else secure_kafka.security("mallory", password="whatever-she-tries")
    )
    producer = create_producer(secure_kafka.bootstrap, "test", security=security)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "Authentication failed" in _why_unreachable(caplog)


@pytest.mark.parametrize("ca", ["another CA", "the system CAs"])
async def test_a_client_refuses_a_broker_whose_certificate_its_ca_did_not_sign(
    secure_kafka: SecureKafka, users: dict[str, str], ca: str, caplog: pytest.LogCaptureFixture
) -> None:
    user = users["checkout"]
    security = (
        secure_kafka.security(user, ca_file=secure_kafka.other_ca_file)
        if ca == "another CA"
        else KafkaSecurity(
            protocol="SASL_SSL", username=user, password=secure_kafka.passwords[user]
        )
    )
    producer = create_producer(secure_kafka.bootstrap, "test", security=security)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in _why_unreachable(caplog)


async def test_a_plaintext_client_gets_nothing(
    secure_kafka: SecureKafka, caplog: pytest.LogCaptureFixture
) -> None:
    producer = create_producer(secure_kafka.bootstrap, "test", request_timeout_ms=3000)
    with pytest.raises(KafkaConnectionError):
        async with asyncio.timeout(30):
            await producer.start()
    await producer.stop()
    assert "closed" in _why_unreachable(caplog)


@pytest.fixture
async def ledger_pool(
    fresh_database: object, infra_settings: BaseServiceSettings
) -> AsyncIterator[asyncpg.Pool]:
    dsn = await fresh_database("kafkasec", LEDGER_MIGRATIONS)  # type: ignore[operator]
    pool = await create_pool(dsn, min_size=1, max_size=2)
    await pool.execute("CREATE TABLE applied (event_id uuid PRIMARY KEY, order_id text)")
    yield pool
    await pool.close()


async def test_the_batch_consumer_applies_checkouts_orders_as_ledger_over_sasl_ssl(
    secure_kafka: SecureKafka,
    users: dict[str, str],
    ledger_pool: asyncpg.Pool,
    until: Callable[..., Awaitable[None]],
) -> None:
    """shared's consumer on a FastStream broker connected as ledger: reads orders.events with
    ledger's group, applies each event once in the database, commits the group's offsets."""
    orders = [f"ord-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    producer = create_producer(
        secure_kafka.bootstrap, "checkout", security=secure_kafka.security(users["checkout"])
    )
    await producer.start()
    try:
        for order in orders:
            env = Envelope.wrap(
                order_paid(
                    order,
                    "u1",
                    provider_event_id=f"evt_{order}",
                    provider_payment_id=f"pi_{order}",
                    paid_at=datetime.now(UTC),
                ),
                source="paystream/test",
            )
            await producer.send_and_wait(
                ORDERS_EVENTS, env.to_bytes(), key=b"u1", headers=envelope_headers(env)
            )
    finally:
        await producer.stop()

    async def handler(conn: Connection, items: list[Consumed]) -> None:
        for c in items:
            order = c.envelope.payload_as(OrderPaidV1).order_id
            await conn.execute("INSERT INTO applied VALUES ($1, $2)", c.envelope.id, order)

    broker = create_broker(
        secure_kafka.bootstrap, "ledger", security=secure_kafka.security(users["ledger"])
    )
    await broker.connect()
    consumer = BatchConsumer(
        broker=broker,
        service="ledger",
        topics=[ORDERS_EVENTS],
        group_id="ledger",
        pool=ledger_pool,
        handler=handler,
    )
    try:
        await consumer.start()

        async def all_applied() -> bool:
            rows = await ledger_pool.fetch("SELECT order_id FROM applied")
            return set(orders) <= {r["order_id"] for r in rows}

        async def offsets_committed() -> bool:
            lag = await consumer.sample_lag()
            return bool(lag) and not any(lag.values())

        await until(all_applied, timeout_s=60)
        await until(offsets_committed)
    finally:
        await consumer.stop()
        await broker.stop()
    assert consumer.failure is None


def test_the_acl_data_names_every_paystream_topic(acls: ModuleType) -> None:
    assert sorted(acls.load()["topics"]) == sorted(s.name for s in TOPICS)


def test_the_acls_follow_the_topic_prefix(acls: ModuleType) -> None:
    for a in acls.acls("staging."):
        assert a.resource == "group" or a.name.startswith("staging.")
    assert ADMIN not in acls.service_users().values()


@contextlib.contextmanager
def _webhook_ingest(kafka: SecureKafka, env: dict[str, str]) -> Iterator[str]:
    """`python -m paystream.webhook_ingest` with these settings (devtools' stack launcher, in
    sandbox mode); yields its base URL once ready."""
    # Ports of this test slot that the suite's own stacks leave free.
    base = int(os.environ.get("PAYSTREAM_PORT_BASE", "18000")) + 500
    stack = Stack(
        port_base=base,
        log_dir=kafka.home / "logs",
        env={**env, "PAYSTREAM_LOG_LEVEL": "WARNING"},
        only=("webhook-ingest",),
    )
    try:
        stack.start()
        stack.wait_ready(60)
        yield stack.urls["webhook-ingest"]
    finally:
        stack.stop()


async def _paid_order_ids(kafka: SecureKafka, user: str, wait_s: float) -> set[str]:
    """The order ids of the payments on payments.events, read as `user` (no group)."""
    consumer = AIOKafkaConsumer(
        PAYMENTS_EVENTS,
        bootstrap_servers=kafka.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        **kafka.security(user).client_options(),
    )
    await consumer.start()
    found: set[str] = set()
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    with contextlib.suppress(ValueError):
                        found.add(json.loads(r.value or b"{}")["data"]["order_id"])
    finally:
        await consumer.stop()
    return found


@pytest.mark.parametrize("as_user", ["webhook-ingest", "ledger"])
async def test_the_webhook_ingest_process_publishes_only_as_its_own_user(
    secure_kafka: SecureKafka, users: dict[str, str], as_user: str
) -> None:
    """The real service, configured by the settings alone: as its own user a paid notification
    reaches payments.events; given ledger's user instead, the broker refuses the payment and
    webhook-ingest answers 5xx (the provider retries; nothing is forged, nothing is lost)."""
    order = f"ord-{uuid.uuid4().hex[:8]}"
    event = checkout_session_completed(
        order_id=order, user_id="u1", credits=1100, amount_minor=10_000, currency="CNY"
    )
    with _webhook_ingest(secure_kafka, secure_kafka.env(users[as_user])) as base:
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await send_stripe_event(http, base, event, DEV_WEBHOOK_SECRET)
    published = await _paid_order_ids(secure_kafka, users["checkout"], wait_s=3)
    if as_user == "webhook-ingest":
        assert answer.status_code == 200, answer.text
        assert order in published
    else:
        assert answer.status_code == 503, answer.text
        assert order not in published


def _cli(kafka: SecureKafka, user: str, *args: str, password: str | None = None) -> Any:
    """`paystream <args> --json` as `user`, configured by the settings alone."""
    env = {**os.environ, **kafka.env(user)}
    if password is not None:
        env["PAYSTREAM_KAFKA_SASL_PASSWORD"] = password
    return subprocess.run(
        [str(Path(sys.executable).with_name("paystream")), *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_operator_command_runs_as_the_operator_and_the_dashboard_reads_lag(
    secure_kafka: SecureKafka, acls: ModuleType, users: dict[str, str]
) -> None:
    operator = acls.super_users()[0]
    ensured = _cli(secure_kafka, operator, "topics", "ensure")
    assert ensured.returncode == 0, ensured.stderr
    listed = _cli(secure_kafka, operator, "topics")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["topics"]
    assert {r["name"] for r in rows if r["exists"]} == {s.name for s in TOPICS}
    # The web app's user reads consumer lag (the operator dashboard) with nothing more.
    value = f"payment {uuid.uuid4()}".encode()
    await _produce(
        secure_kafka, secure_kafka.security(users["webhook-ingest"]), PAYMENTS_EVENTS, value
    )
    await _consume_and_commit(secure_kafka, users["checkout"], "checkout", PAYMENTS_EVENTS, value)
    webhook_ingest = secure_kafka.security(users["webhook-ingest"])
    await _produce(secure_kafka, webhook_ingest, PAYMENTS_EVENTS, b"not consumed yet")
    lag = _cli(secure_kafka, users["web"], "lag", "--group", "checkout")
    assert lag.returncode == 0, lag.stderr
    (group,) = json.loads(lag.stdout)["groups"]
    assert group["group"] == "checkout"
    assert group["total_lag"] == 1
    (behind,) = [p for p in group["partitions"] if p["lag"]]
    assert behind["oldest_unconsumed_at"] is not None
    refused = _cli(secure_kafka, operator, "topics", password="not-the-password")
    assert refused.returncode != 0
    assert "cannot reach Kafka" in refused.stdout + refused.stderr


def test_the_security_doc_lists_the_acls_as_the_data_says(acls: ModuleType) -> None:
    """docs/security.md shows deploy/kafka/acls.toml as a table: the two must not drift."""
    rows: dict[str, list[str]] = {}
    for line in (REPO / "docs" / "security.md").read_text().splitlines():
        if line.startswith("| `paystream-"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1:]
    data = acls.load()
    assert set(rows) == {u["user"] for u in data["users"].values()} | set(data["super_users"])
    for u in data["users"].values():
        writes, reads = rows[u["user"]]
        assert sorted(re.findall(r"`([^`]+)`", writes)) == sorted(u.get("write", [])), u["user"]
        named = set(re.findall(r"`([^`]+)`", reads))
        for t in u.get("read", []):
            assert t in named or (t.endswith(".dlq") and "`.dlq`" in reads), (u["user"], t)
        assert set(u.get("groups", []) + u.get("describe_groups", [])) <= named, u["user"]
