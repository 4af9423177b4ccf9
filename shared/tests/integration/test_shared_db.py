"""The unit-of-work helpers on the real PostgreSQL: `transaction(pool)` commits or rolls back as
a whole, `savepoint(conn)` rolls back only its part and refuses to run outside a transaction,
and `overlapping` does its work while the statement runs in PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from paystream.shared.db import Connection, overlapping, savepoint, transaction

pytestmark = pytest.mark.integration


class _Boom(Exception):
    pass


@pytest.fixture
async def pool(database_with: Callable[[str, str], Awaitable[asyncpg.Pool]]) -> asyncpg.Pool:
    return await database_with("shared", "CREATE TABLE t (v int PRIMARY KEY)")


async def _values(pool: asyncpg.Pool) -> list[int]:
    return [r["v"] for r in await pool.fetch("SELECT v FROM t ORDER BY v")]


async def test_a_transaction_commits_when_its_block_ends(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn:
        assert conn.is_in_transaction()
        await conn.execute("INSERT INTO t VALUES (1), (2)")
        assert await _values(pool) == []  # not visible to others before the commit
    assert await _values(pool) == [1, 2]


async def test_a_transaction_rolls_back_as_a_whole_when_its_block_raises(
    pool: asyncpg.Pool,
) -> None:
    async def insert_then_fail() -> None:
        async with transaction(pool) as conn:
            await conn.execute("INSERT INTO t VALUES (1)")
            raise _Boom

    with pytest.raises(_Boom):
        await insert_then_fail()
    assert await _values(pool) == []


async def test_a_savepoint_rolls_back_only_its_part(pool: asyncpg.Pool) -> None:
    async def insert_then_fail(conn: Connection) -> None:
        async with savepoint(conn):
            await conn.execute("INSERT INTO t VALUES (2)")
            raise _Boom

    async with transaction(pool) as conn:
        await conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(_Boom):
            await insert_then_fail(conn)
        async with savepoint(conn):
            await conn.execute("INSERT INTO t VALUES (3)")
        assert conn.is_in_transaction()
    assert await _values(pool) == [1, 3]


async def test_a_savepoint_refuses_a_connection_outside_a_transaction(pool: asyncpg.Pool) -> None:
    async def insert_in_a_savepoint(conn: Connection) -> None:
        async with savepoint(conn):
            await conn.execute("INSERT INTO t VALUES (1)")

    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="caller's transaction"):
            await insert_in_a_savepoint(conn)
    assert await _values(pool) == []


async def test_overlapping_does_its_work_while_postgresql_runs_the_statement(
    fresh_database: Callable[..., Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> None:
    # The statement waits for an advisory lock that a connection of another thread holds. That
    # thread releases it only once it saw the statement waiting in pg_stat_activity, and it looks
    # only while the work runs (the work is waiting for that thread). So the statement finishes
    # only if it was sent before the work started; else the thread gives up after 10 s and the
    # test fails.
    dsn = await fresh_database("shared")
    pool = await pool_for(dsn)
    locked, go = threading.Event(), threading.Event()
    seen: list[bool] = []

    async def holder(waiter_pid: int) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SELECT pg_advisory_lock(4242)")
            locked.set()
            go.wait()
            found = False
            for _ in range(200):
                found = await conn.fetchval(
                    "SELECT count(*) > 0 FROM pg_stat_activity"
                    " WHERE pid = $1 AND wait_event_type = 'Lock' AND state = 'active'",
                    waiter_pid,
                )
                if found:
                    break
                await asyncio.sleep(0.05)
            seen.append(found)
        finally:
            await conn.close()  # releases the lock

    statement = "SELECT 1 FROM pg_advisory_xact_lock(4242)"
    async with transaction(pool) as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        # Prepared once, as a consumer's statements are from its second batch on (asyncpg's
        # statement cache); a statement seen for the first time is prepared first, and only that
        # round trip would overlap the work.
        await conn.fetchval(statement)
    async with transaction(pool) as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == pid
        thread = threading.Thread(target=lambda: asyncio.run(holder(pid)))
        thread.start()
        await asyncio.get_running_loop().run_in_executor(None, locked.wait)

        def work() -> str:
            go.set()
            thread.join()
            return "done"

        got, done = await overlapping(conn.fetchval(statement), work)
    assert seen == [True]
    assert (got, done) == (1, "done")


async def test_when_the_work_fails_the_statement_still_completes_and_its_error_is_raised(
    pool: asyncpg.Pool,
) -> None:
    def fail() -> None:
        raise _Boom

    async with transaction(pool) as conn:
        with pytest.raises(_Boom):
            await overlapping(conn.execute("INSERT INTO t VALUES (1)"), fail)
        # The connection is idle again: the transaction goes on, with the statement's row.
        assert await conn.fetchval("SELECT count(*) FROM t") == 1
    assert await _values(pool) == [1]


async def test_when_the_statement_fails_its_error_is_raised_after_the_work(
    pool: asyncpg.Pool,
) -> None:
    ran: list[bool] = []
    async with transaction(pool) as conn:
        await conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(asyncpg.UniqueViolationError):
            await overlapping(conn.execute("INSERT INTO t VALUES (1)"), lambda: ran.append(True))
    assert ran == [True]
