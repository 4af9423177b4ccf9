"""Kafka clients and database connections that fail with one clear line, not a traceback.

Every client is short-lived (one command), so each is a context manager that starts it, maps the
failure to reach the broker or the server to `KafkaUnreachable` / `DatabaseUnreachable`, and
closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from paystream.cli.errors import DatabaseUnreachable, KafkaUnreachable
from paystream.cli.settings import OperatorSettings
from paystream.shared.kafka import create_admin, create_producer

# An operator waits for an answer: a broker that does not answer in this long is reported.
KAFKA_TIMEOUT_MS = 10_000
DB_TIMEOUT_S = 5.0


def kafka_unreachable(settings: OperatorSettings, exc: BaseException) -> KafkaUnreachable:
    return KafkaUnreachable(f"cannot reach Kafka at {settings.kafka_bootstrap}: {_why(exc)}")


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


async def _start(settings: OperatorSettings, client: object) -> None:
    try:
        async with asyncio.timeout(KAFKA_TIMEOUT_MS / 1000 + 2):
            await client.start()  # type: ignore[attr-defined]
    except (KafkaError, OSError, TimeoutError) as exc:
        raise kafka_unreachable(settings, exc) from exc


@asynccontextmanager
async def admin_client(settings: OperatorSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    client = create_admin(
        settings.kafka_bootstrap,
        "paystream-cli",
        security=settings.kafka_security(),
        request_timeout_ms=KAFKA_TIMEOUT_MS,
    )
    try:
        await _start(settings, client)
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def consumer(
    settings: OperatorSettings, group_id: str | None = None
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without subscription: callers `assign()` partitions and seek themselves. With a
    `group_id` it can commit that group's offsets (the broker refuses while the group has
    members, which is exactly the guard replay and dlq need)."""
    c = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="paystream-cli",
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        request_timeout_ms=KAFKA_TIMEOUT_MS + 5_000,
        fetch_max_wait_ms=100,
        **settings.kafka_security().client_options(),
    )
    try:
        await _start(settings, c)
        yield c
    finally:
        try:
            await c.stop()
        except asyncio.CancelledError:
            # aiokafka's stop() of a consumer that was never assigned anything awaits a task it
            # cancelled itself; only a cancellation of this command is passed on.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise


@asynccontextmanager
async def producer(settings: OperatorSettings) -> AsyncIterator[AIOKafkaProducer]:
    p = create_producer(
        settings.kafka_bootstrap,
        "paystream-cli",
        security=settings.kafka_security(),
        request_timeout_ms=KAFKA_TIMEOUT_MS,
    )
    try:
        await _start(settings, p)
        yield p
    finally:
        await p.stop()


def describe_dsn(dsn: str) -> str:
    """`name at host:port`, never the password."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/") or "?"
    return f"{name} at {parts.hostname}:{parts.port or 5432}"


@asynccontextmanager
async def database(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    try:
        conn = await asyncpg.connect(dsn, timeout=DB_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnreachable(
            f"cannot reach database {describe_dsn(dsn)}: {_why(exc)}"
        ) from exc
    try:
        yield conn
    finally:
        await conn.close()
