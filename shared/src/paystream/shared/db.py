"""PostgreSQL helpers: an asyncpg pool that waits for the server, the unit-of-work helpers, and
the shared inbox/outbox DDL.

Who owns a transaction shows at the call site. A use case that owns its unit of work is handed
the pool and opens it with `async with transaction(pool) as conn:`; a function handed a
`Connection` runs inside its caller's transaction and never opens or commits one (it may roll
part of it back with `savepoint(conn)`). A consumer handler is handed the connection of the batch
transaction the shared consumer owns. Repositories take a connection and never commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeAlias, TypeVar

import asyncpg
import orjson
import structlog
from asyncpg.pool import PoolConnectionProxy
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

log = structlog.get_logger(__name__)

# What repositories take: a plain connection or one borrowed from the pool.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

# Errors that mean "the database is not there right now", worth retrying.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )
    await conn.set_type_codec(
        "json",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, wait_s: float = 30.0
) -> asyncpg.Pool:
    """Create a pool, retrying while the server starts (a service may boot before its database)."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT_DB_ERRORS),
        wait=wait_exponential(multiplier=0.1, max=2),
        stop=stop_after_delay(wait_s),
        reraise=True,
    ):
        with attempt:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=_init_connection,
                command_timeout=30,
            )
    assert pool is not None
    return pool


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """One unit of work: a pooled connection in a transaction that commits when the block ends
    and rolls back if it raises."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


@asynccontextmanager
async def savepoint(conn: Connection) -> AsyncIterator[None]:
    """Part of the caller's transaction that rolls back alone if the block raises.

    Refuses a connection outside a transaction: there `conn.transaction()` would open (and
    commit) one, which only the owner of the unit of work may do.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("savepoint() needs the caller's transaction")
    async with conn.transaction():
        yield


T = TypeVar("T")
U = TypeVar("U")


async def overlapping(statements: Awaitable[T], work: Callable[[], U]) -> tuple[T, U]:
    """Run `statements` (queries on one connection) and, while PostgreSQL executes them, `work`:
    CPU work of this process that needs neither the connection nor their result. Returns both
    results.

    A consumer's batch statement keeps PostgreSQL busy for tens of milliseconds while the
    consumer only waits; what does not depend on it (building the events it publishes, say) is
    done in that wait instead of after it. One turn of the event loop sends the first query
    before `work` starts (asyncpg encodes and writes it, then waits for the answer) if the
    connection prepared it before (asyncpg's statement cache: a consumer's statements from its
    second batch on); a query new to the connection is prepared first, and only that round trip
    overlaps. The connection is idle again when this returns, whichever of the two fails: if
    `work` raises, the statements are awaited first and `work`'s error is raised.
    """
    task = asyncio.ensure_future(statements)
    await asyncio.sleep(0)
    try:
        done = work()
    except BaseException:
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the caller hears `work`'s error
        raise
    return await task, done


async def ping(pool: asyncpg.Pool) -> None:
    async with pool.acquire(timeout=2) as conn:
        await conn.fetchval("SELECT 1")


# Inbox: one row per consumed event id, written in the same transaction as the event's effect,
# so a redelivered or replayed event finds its id and changes nothing.
INBOX_DDL = """
CREATE TABLE inbox (
    event_id     uuid        PRIMARY KEY,
    event_type   text        NOT NULL,
    topic        text        NOT NULL,
    kafka_partition int      NOT NULL,
    kafka_offset bigint      NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
"""

# Outbox: events to publish, written in the same transaction as the change that caused them;
# the relay publishes them and deletes the rows (no dual writes).
OUTBOX_DDL = """
CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    payload     bytea       NOT NULL,
    headers     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
"""
