"""The schema's own guarantees, on the real PostgreSQL: double entry (postings sum to zero per
transaction), postings refer to real transactions and accounts, append-only history and lot
entries, lots' caches within range (never negative, held within remaining), one lot per order
line, one expiry per lot."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from paystream.devtools.explain import explain_analyze, rows_read, seq_rows_read
from paystream.ledger.books import repository as books
from paystream.ledger.lots import repository as lots_repository
from paystream.shared.db import Connection

pytestmark = pytest.mark.integration


async def _transaction(conn: Connection, order: str | None = None) -> uuid.UUID:
    tx = uuid.uuid4()
    await conn.execute(
        "INSERT INTO transactions (id, kind, user_id, order_id, event_id, reason, credits,"
        " balance_after, paid_minor, paid_currency)"
        " VALUES ($1, 'grant', 'u', $2, $3, 'test', 10, 10, 100, 'CNY')",
        tx,
        order or f"o-{tx}",
        uuid.uuid4(),
    )
    return tx


async def test_balanced_postings_are_accepted(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO accounts (id) VALUES ('user:u')")
        tx = await _transaction(conn)
        await conn.execute(
            "INSERT INTO postings VALUES ($1, 'user:u', 10), ($1, 'system:issuance', -10)", tx
        )
    assert await pool.fetchval("SELECT sum(amount) FROM postings WHERE transaction_id=$1", tx) == 0


async def _post(pool: asyncpg.Pool, *amounts: tuple[int, str, int]) -> None:
    """Insert, in ONE statement, postings (transaction index, account, amount) for new
    transactions."""
    async with pool.acquire() as conn, conn.transaction():
        txs = [await _transaction(conn) for _ in range(1 + max(i for i, _, _ in amounts))]
        await conn.execute(
            "INSERT INTO postings SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])",
            [txs[i] for i, _, _ in amounts],
            [a for _, a, _ in amounts],
            [n for _, _, n in amounts],
        )


async def test_unbalanced_postings_are_refused(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO accounts (id) VALUES ('user:u')")
    with pytest.raises(asyncpg.CheckViolationError, match="do not sum to zero"):
        await _post(pool, (0, "user:u", 10), (0, "system:issuance", -9))
    # A balanced transaction beside an unbalanced one in the same statement: all refused.
    with pytest.raises(asyncpg.CheckViolationError):
        await _post(pool, (0, "user:u", 10), (0, "system:issuance", -10), (1, "user:u", 5))
    assert await pool.fetchval("SELECT count(*) FROM postings") == 0
    assert await pool.fetchval("SELECT count(*) FROM transactions") == 0
    # Many balanced transactions in one statement (the batch path) are fine.
    await _post(
        pool,
        (0, "user:u", 10),
        (1, "user:u", 5),
        (0, "system:issuance", -10),
        (1, "system:issuance", -5),
    )
    assert await pool.fetchval("SELECT count(*) FROM postings") == 4


async def test_postings_must_refer_to_existing_transactions_and_accounts(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("INSERT INTO accounts (id) VALUES ('user:u')")
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="unknown transaction"):
        await pool.execute(
            "INSERT INTO postings VALUES ($1, 'user:u', 10), ($1, 'system:issuance', -10)",
            uuid.uuid4(),
        )
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="unknown account"):
        await _post(pool, (0, "user:nobody", 10), (0, "system:issuance", -10))
    assert await pool.fetchval("SELECT count(*) FROM postings") == 0


async def test_a_posting_added_later_to_a_balanced_transaction_is_refused(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO accounts (id) VALUES ('user:u')")
        tx = await _transaction(conn)
        await conn.execute(
            "INSERT INTO postings VALUES ($1, 'user:u', 10), ($1, 'system:issuance', -10)", tx
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO postings VALUES ($1, 'system:consumption', 10)", tx)


async def test_history_is_append_only(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO accounts (id) VALUES ('user:u')")
        tx = await _transaction(conn)
        await conn.execute(
            "INSERT INTO postings VALUES ($1, 'user:u', 10), ($1, 'system:issuance', -10)", tx
        )
    for sql in (
        "UPDATE postings SET amount = amount * 2",
        "DELETE FROM postings",
        "TRUNCATE postings CASCADE",
        "UPDATE transactions SET credits = 1",
        "DELETE FROM transactions",
        "DELETE FROM accounts",
        "TRUNCATE accounts CASCADE",
    ):
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await pool.execute(sql)
    assert await pool.fetchval("SELECT count(*) FROM postings") == 2


async def _lot(conn: Connection, order: str | None = None, line: int = 0) -> uuid.UUID:
    lot = uuid.uuid4()
    await conn.execute(
        "INSERT INTO lots (id, user_id, unit, source, credits, remaining, effective_at,"
        " validity_rule, order_id, order_line, transaction_id, created_at)"
        " VALUES ($1, 'u', 'credits', 'purchase', 10, 10, now(), 'none', $2, $3, $4, now())",
        lot,
        order or f"o-{lot}",
        line,
        uuid.uuid4(),
    )
    return lot


async def test_a_lot_never_goes_negative_nor_holds_more_than_it_has(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        lot = await _lot(conn)
        for sql in (
            "UPDATE lots SET remaining = -1 WHERE id = $1",
            "UPDATE lots SET remaining = 11 WHERE id = $1",
            "UPDATE lots SET held = 11 WHERE id = $1",
            "UPDATE lots SET held = -1 WHERE id = $1",
            "UPDATE lots SET remaining = 4, held = 5 WHERE id = $1",
        ):
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(sql, lot)
        await conn.execute("UPDATE lots SET remaining = 5, held = 5 WHERE id = $1", lot)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("INSERT INTO accounts (id) VALUES ('bank:x')")


async def test_one_lot_per_order_line(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await _lot(conn, order="order-1", line=0)
        await _lot(conn, order="order-1", line=1)
        with pytest.raises(asyncpg.UniqueViolationError):
            await _lot(conn, order="order-1", line=0)
        # Several grant transactions may name one order (one per line).
        await _transaction(conn, order="order-1")
        await _transaction(conn, order="order-1")


async def test_lot_entries_are_append_only_and_a_lot_expires_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        lot = await _lot(conn)
        tx1, tx2 = await _transaction(conn), await _transaction(conn)
        entry = (
            "INSERT INTO lot_entries (transaction_id, lot_id, kind, delta, held_delta, at)"
            " VALUES ($1, $2, $3, $4, 0, now())"
        )
        await conn.execute(entry, tx1, lot, "expire", -3)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(entry, tx2, lot, "expire", -2)
        # An entry never adds to a lot (a grant is a new lot), and always moves something.
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(entry, tx2, lot, "spend", 1)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(entry, tx2, lot, "spend", 0)
        for sql in (
            "UPDATE lot_entries SET delta = -1",
            "DELETE FROM lot_entries",
            "TRUNCATE lot_entries",
            "DELETE FROM lots",
        ):
            with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
                await conn.execute(sql)


# ---- the spend batch's idempotency lookup stays an index lookup ------------------------------


async def test_looking_up_spends_by_key_reads_one_row_per_key_whatever_the_statistics(
    pool: asyncpg.Pool,
) -> None:
    # The statistics are taken while no transaction has a key (grants only), then 3,000 spends
    # with keys arrive before the next ANALYZE: what a ledger looks like when spends start. As a
    # join, the lookup then walked every keyed transaction for each batch (make bench: 750
    # spends/s instead of 2,200).
    await pool.execute(
        "INSERT INTO transactions (id, kind, user_id, order_id, event_id, reason, credits,"
        " balance_after, paid_minor, paid_currency)"
        " SELECT gen_random_uuid(), 'grant', 'u' || (i % 500), 'o-' || i, gen_random_uuid(),"
        " 'test', 10, 10, 100, 'CNY' FROM generate_series(1, 3000) AS i"
    )
    await pool.execute("ANALYZE transactions")
    await pool.execute(
        "INSERT INTO transactions (id, kind, user_id, reason, credits, balance_after,"
        " idempotency_key, request_hash)"
        " SELECT gen_random_uuid(), 'spend', 'u' || (i % 500), 'test', 1, 9, 'key-' || i, 'h'"
        " FROM generate_series(1, 3000) AS i"
    )
    keys = [(f"u{i % 500}", f"key-{i}") for i in (7, 1200, 2999)] + [("u1", "key-none")]
    async with pool.acquire() as conn:
        found = await books.find_by_keys(conn, keys)
        assert sorted(found) == sorted(keys[:3])
        plan = await explain_analyze(
            conn, books.FIND_BY_KEYS, [u for u, _ in keys], [k for _, k in keys]
        )
    assert rows_read(plan, "transactions") <= len(keys), json.dumps(plan, indent=1)


async def test_the_postings_check_is_planned_on_the_tables_as_they_are_now(
    pool: asyncpg.Pool,
) -> None:
    # One connection, as a consumer holds one: its first batch is checked while `transactions`
    # is empty, then the table grows. A plan kept from that first batch (PL/pgSQL keeps the
    # plan of a statement without parameters for the session) hashed all of `transactions`
    # for every later batch.
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO accounts (id) VALUES ('user:u')")
        async with conn.transaction():
            tx = await _transaction(conn)
            await conn.execute(
                "INSERT INTO postings VALUES ($1, 'user:u', 10), ($1, 'system:issuance', -10)",
                tx,
            )
        await conn.execute(
            "INSERT INTO transactions (id, kind, user_id, order_id, event_id, reason, credits,"
            " balance_after, paid_minor, paid_currency)"
            " SELECT gen_random_uuid(), 'grant', 'u', 'o-' || i, gen_random_uuid(),"
            " 'test', 10, 10, 100, 'CNY' FROM generate_series(1, 3000) AS i"
        )
        async with conn.transaction():
            tx = await _transaction(conn)
            before = await seq_rows_read(conn, "transactions")
            await conn.execute(
                "INSERT INTO postings VALUES ($1, 'user:u', 10), ($1, 'system:issuance', -10)",
                tx,
            )
            assert await seq_rows_read(conn, "transactions") - before < 100
        # Still checked: a posting for a transaction that does not exist is refused.
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="unknown transaction"):
            await conn.execute(
                "INSERT INTO postings VALUES ($1, 'user:u', 10), ($1, 'system:issuance', -10)",
                uuid.uuid4(),
            )


async def test_looking_up_granted_orders_reads_one_row_per_order_whatever_the_statistics(
    pool: asyncpg.Pool,
) -> None:
    # 3,000 lots and no statistics yet (a young ledger, before autovacuum's first ANALYZE): as
    # `order_id = ANY($1)` the lookup of a grant batch's orders read every lot.
    orders = ["o-7", "o-1200", "o-2999", "o-none"]
    async with pool.acquire() as conn:
        await _add_lots(conn, 1, 3000)
        assert await lots_repository.granted_order_lines(conn, orders) == set(orders[:3])
        # Planned for these orders, and as a plan cached for any orders would be.
        for mode in ("auto", "force_generic_plan"):
            plan = await explain_analyze(
                conn, lots_repository.GRANTED_ORDERS, orders, plan_cache_mode=mode
            )
            assert rows_read(plan, "lots") <= len(orders), (mode, json.dumps(plan, indent=1))


async def test_available_credits_are_summed_from_the_users_lots_as_the_table_grows(
    pool: asyncpg.Pool,
) -> None:
    # A connection that read balances while the ledger held one lot, as a consumer's does at
    # its first batches, then 3,000 lots arrive before any ANALYZE.
    at = datetime.now(UTC)
    pairs = [("u7", "credits"), ("u123", "credits"), ("nobody", "credits")]
    async with pool.acquire() as conn:
        await _add_lots(conn, 0, 0)
        for _ in range(6):
            await lots_repository.available_of(conn, pairs, at)
        await _add_lots(conn, 1, 3000)
        async with conn.transaction():
            before = await seq_rows_read(conn, "lots")
            available = await lots_repository.available_of(conn, pairs, at)
            read = await seq_rows_read(conn, "lots") - before
        assert available == {pairs[0]: 60, pairs[1]: 60, pairs[2]: 0}
        assert read < 100


async def _add_lots(conn: Connection, first: int, last: int) -> None:
    """Lots `o-<i>` of 10 live credits for users `u<i % 500>`, i from first to last, written
    straight to the table (no statistics are taken)."""
    await conn.execute(
        "INSERT INTO lots (id, user_id, unit, source, credits, remaining, effective_at,"
        " validity_rule, order_id, order_line, transaction_id, created_at)"
        " SELECT gen_random_uuid(), 'u' || (i % 500), 'credits', 'purchase', 10, 10,"
        " now() - interval '1 hour', 'none', 'o-' || i, 0, gen_random_uuid(), now()"
        " FROM generate_series($1::int, $2::int) AS i",
        first,
        last,
    )
