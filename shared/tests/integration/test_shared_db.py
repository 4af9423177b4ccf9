"""The unit-of-work helpers on the real PostgreSQL: `transaction(pool)` commits or rolls back as
a whole, `savepoint(conn)` rolls back only its part and refuses to run outside a transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from paystream.shared.db import Connection, savepoint, transaction

pytestmark = pytest.mark.integration


class _Boom(Exception):
    pass


@pytest.fixture
async def pool(
    fresh_database: Callable[..., Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> asyncpg.Pool:
    pool = await pool_for(await fresh_database("shared"))
    await pool.execute("CREATE TABLE t (v int PRIMARY KEY)")
    return pool


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
