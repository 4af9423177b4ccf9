"""Refunds revoking credits, through the ledger's batch handler on the real PostgreSQL: in
proportion, once per refund_key, never below zero (shortfall), in stream order with the grants of
the same batch, pending until the grant when the refund comes first, refused when it cannot
apply, taken from the refunded order's own lots first. Double entry holds throughout."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from ledgerkit import MovableClock, assert_books_balance, paid_order

from paystream.devtools.records import consumed
from paystream.ledger.consumers import ledger_handler
from paystream.ledger.expiry.service import run_jobs
from paystream.ledger.refunds import service
from paystream.ledger.refunds.domain import Refund, RefundRefused
from paystream.ledger.spending.batcher import SpendRequest, Spent, spend_batch
from paystream.shared.events import (
    CreditsGrantedV1,
    CreditsRevokedV1,
    Envelope,
    EventData,
    GrantSpec,
    OrderPaidV1,
    RefundSucceededV1,
    refund_event_id,
)
from paystream.shared.kafka import Consumed, record_inbox

pytestmark = pytest.mark.integration

CLOCK = MovableClock(datetime.now(UTC))
handle = ledger_handler(lambda: CLOCK)


def _consumed(data: EventData, *, id: uuid.UUID | None = None) -> Consumed:
    env = Envelope.wrap(data, source="test", subject=getattr(data, "user_id", None), id=id)
    return consumed(env)


def _paid(order: str, user: str = "alice", credits: int = 1100, amount: int = 10_000) -> Consumed:
    return _consumed(
        paid_order(
            order,
            user,
            GrantSpec(quantity=credits, cost_minor=amount),
            paid_minor=amount,
            paid_at=CLOCK.now(),
        )
    )


def _refunded(
    order: str,
    amount: int,
    *,
    re: str | None = None,
    user: str = "alice",
    currency: str = "CNY",
    envelope_id: uuid.UUID | None = None,
) -> Consumed:
    re = re or f"re_{uuid.uuid4().hex[:12]}"
    return _consumed(
        RefundSucceededV1(
            order_id=order,
            user_id=user,
            refund_id=f"rf_{re}",
            provider="stripe",
            provider_refund_id=re,
            amount_minor=amount,
            currency=currency,
            reason="requested_by_customer",
            refunded_at=datetime.now(UTC),
        ),
        # What every announcer of this refund uses, unless the test wants another id.
        id=envelope_id or refund_event_id("succeeded", "stripe", re),
    )


async def _apply(pool: asyncpg.Pool, items: list[Consumed]) -> None:
    """What the BatchConsumer does with a batch: inbox and effect in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        fresh = await record_inbox(conn, items)
        if fresh:
            await handle(conn, fresh)


async def _balance(pool: asyncpg.Pool, account: str) -> int:
    """An account's balance: the sum of its postings (a user's is what their lots hold)."""
    return int(
        await pool.fetchval(
            "SELECT coalesce(sum(amount), 0) FROM postings WHERE account_id = $1", account
        )
    )


async def _spend(pool: asyncpg.Pool, user: str, credits: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        [outcome] = await spend_batch(
            conn,
            [SpendRequest(user, "credits", credits, "generate", str(uuid.uuid4()))],
            CLOCK.now(),
        )
    assert isinstance(outcome, Spent)


async def _refunds(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT refund_key, order_id, status, credits_due, credits_taken, shortfall,"
        " balance_after, transaction_id, rejection FROM refunds ORDER BY seq"
    )
    return [dict(r) for r in rows]


async def _revoked_events(pool: asyncpg.Pool) -> list[CreditsRevokedV1]:
    rows = await pool.fetch("SELECT payload FROM outbox ORDER BY id")
    envs = [Envelope.from_bytes(bytes(r["payload"])) for r in rows]
    return [e.payload_as(CreditsRevokedV1) for e in envs if e.type == CreditsRevokedV1.TYPE]


async def _outbox_types(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch("SELECT headers FROM outbox ORDER BY id")
    return [r["headers"]["ce_type"] for r in rows]


async def _assert_books_balance(pool: asyncpg.Pool) -> None:
    await assert_books_balance(pool)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM (SELECT account_id FROM postings WHERE account_id LIKE 'user:%'"
            " GROUP BY 1 HAVING sum(amount) < 0) x"
        )
        == 0
    )
    # Every credit revoked sits in system:refunds, nothing more.
    assert await _balance(pool, "system:refunds") == await pool.fetchval(
        "SELECT coalesce(sum(credits), 0) FROM transactions WHERE kind = 'revoke'"
    )


async def test_a_full_refund_revokes_the_whole_grant(pool: asyncpg.Pool) -> None:
    await _apply(pool, [_paid("o1", credits=1100, amount=10_000)])
    assert await _balance(pool, "user:alice") == 1100
    refund = _refunded("o1", 10_000, re="re_full")
    await _apply(pool, [refund])

    assert await _balance(pool, "user:alice") == 0
    assert await _balance(pool, "system:refunds") == 1100
    [row] = await _refunds(pool)
    assert row | {"transaction_id": None} == {
        "refund_key": "stripe:re_full",
        "order_id": "o1",
        "status": "applied",
        "credits_due": 1100,
        "credits_taken": 1100,
        "shortfall": 0,
        "balance_after": 0,
        "transaction_id": None,
        "rejection": None,
    }
    tx = await pool.fetchrow(
        "SELECT kind, order_id, refund_key, credits, balance_after, event_id, reason"
        " FROM transactions WHERE id = $1",
        row["transaction_id"],
    )
    assert dict(tx) == {
        "kind": "revoke",
        "order_id": "o1",
        "refund_key": "stripe:re_full",
        "credits": 1100,
        "balance_after": 0,
        "event_id": refund.envelope.id,
        "reason": "refund: requested_by_customer",
    }
    [event] = await _revoked_events(pool)
    assert (event.order_id, event.refund_key, event.credits, event.shortfall) == (
        "o1",
        "stripe:re_full",
        1100,
        0,
    )
    assert (event.balance_after, event.transaction_id) == (0, str(row["transaction_id"]))
    await _assert_books_balance(pool)


async def test_partial_refunds_sum_to_the_grant_exactly(pool: asyncpg.Pool) -> None:
    # 100 credits for 3.00, refunded 1.00 at a time: 33 + 33 + 34.
    await _apply(pool, [_paid("o1", credits=100, amount=300)])
    await _apply(pool, [_refunded("o1", 100)])
    assert await _balance(pool, "user:alice") == 67
    await _apply(pool, [_refunded("o1", 100), _refunded("o1", 100)])
    assert [r["credits_taken"] for r in await _refunds(pool)] == [33, 33, 34]
    assert await _balance(pool, "user:alice") == 0
    assert [e.balance_after for e in await _revoked_events(pool)] == [67, 34, 0]
    # Nothing is left to refund: one cent more is refused, and changes nothing.
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(RefundRefused, match="exceed"):
            await handle(conn, [_refunded("o1", 1)])
    assert await _balance(pool, "user:alice") == 0
    await _assert_books_balance(pool)


async def test_two_partial_refunds_revoke_their_shares(pool: asyncpg.Pool) -> None:
    await _apply(
        pool, [_paid("o1", credits=1100, amount=10_000), _paid("o2", credits=50, amount=500)]
    )
    await _apply(pool, [_refunded("o1", 2_500)])
    await _apply(pool, [_refunded("o1", 7_500)])
    assert [(r["credits_due"], r["credits_taken"]) for r in await _refunds(pool)] == [
        (275, 275),
        (825, 825),
    ]
    assert await _balance(pool, "user:alice") == 50  # o2's credits stay
    await _assert_books_balance(pool)


async def test_a_refund_after_spending_records_the_shortfall_and_stops_at_zero(
    pool: asyncpg.Pool,
) -> None:
    await _apply(pool, [_paid("o1", credits=1100, amount=10_000)])
    await _spend(pool, "alice", 1000)
    await _apply(pool, [_refunded("o1", 10_000, re="re_spent")])

    assert await _balance(pool, "user:alice") == 0
    [row] = await _refunds(pool)
    assert (row["credits_due"], row["credits_taken"], row["shortfall"]) == (1100, 100, 1000)
    [event] = await _revoked_events(pool)
    assert (event.credits, event.shortfall, event.balance_after) == (100, 1000, 0)

    # With nothing left at all, a refund revokes nothing, moves nothing, and still reports.
    await _apply(pool, [_paid("o2", credits=10, amount=100)])
    await _spend(pool, "alice", 10)
    await _apply(pool, [_refunded("o2", 100, re="re_empty")])
    empty = (await _refunds(pool))[1]
    assert (empty["credits_taken"], empty["shortfall"], empty["transaction_id"]) == (0, 10, None)
    last = (await _revoked_events(pool))[-1]
    assert (last.credits, last.shortfall, last.transaction_id) == (0, 10, None)
    assert await _balance(pool, "user:alice") == 0
    assert await pool.fetchval("SELECT count(*) FROM transactions WHERE kind = 'revoke'") == 1
    await _assert_books_balance(pool)


async def test_a_refund_is_applied_once_whatever_number_of_events_announce_it(
    pool: asyncpg.Pool,
) -> None:
    await _apply(pool, [_paid("o1", credits=1100, amount=10_000)])
    first = _refunded("o1", 5_000, re="re_dup")
    # The same envelope twice in one batch, then redelivered, then announced under other
    # envelope ids (in the same batch and later): one revocation.
    await _apply(
        pool,
        [first, first, _refunded("o1", 5_000, re="re_dup", envelope_id=uuid.uuid4())],
    )
    await _apply(pool, [first])
    await _apply(pool, [_refunded("o1", 5_000, re="re_dup", envelope_id=uuid.uuid4())])
    # Even without the inbox, straight to the handler.
    async with pool.acquire() as conn, conn.transaction():
        await handle(conn, [first])

    assert await _balance(pool, "user:alice") == 550
    assert len(await _refunds(pool)) == 1
    assert await pool.fetchval("SELECT count(*) FROM transactions WHERE kind = 'revoke'") == 1
    assert len(await _revoked_events(pool)) == 1
    await _assert_books_balance(pool)


async def test_a_refund_in_the_batch_of_its_payment_sees_the_grant(pool: asyncpg.Pool) -> None:
    await _apply(
        pool,
        [
            _paid("o1", credits=1100, amount=10_000),
            _paid("o2", user="bob", credits=7, amount=70),
            _refunded("o1", 10_000),
            _paid("o3", credits=5, amount=50),
        ],
    )
    assert [r["status"] for r in await _refunds(pool)] == ["applied"]
    assert await _balance(pool, "user:alice") == 5
    # Stream order in the history: grant o1, revoke o1, grant o3.
    rows = await pool.fetch(
        "SELECT kind, order_id, balance_after FROM transactions WHERE user_id = 'alice'"
        " ORDER BY seq"
    )
    assert [tuple(r) for r in rows] == [
        ("grant", "o1", 1100),
        ("revoke", "o1", 0),
        ("grant", "o3", 5),
    ]
    assert await _outbox_types(pool) == [
        CreditsGrantedV1.TYPE,
        CreditsGrantedV1.TYPE,
        CreditsRevokedV1.TYPE,
        CreditsGrantedV1.TYPE,
    ]
    await _assert_books_balance(pool)


async def test_events_are_applied_in_stream_order_within_a_batch(pool: asyncpg.Pool) -> None:
    """A refund before a new grant in the stream finds the balance of that moment: the
    shortfall does not depend on where a batch happens to end."""
    await _apply(pool, [_paid("o1", credits=100, amount=1_000)])
    await _spend(pool, "alice", 90)
    await _apply(pool, [_refunded("o1", 1_000), _paid("o2", credits=500, amount=5_000)])
    [row] = await _refunds(pool)
    assert (row["credits_taken"], row["shortfall"]) == (10, 90)
    assert await _balance(pool, "user:alice") == 500


async def test_a_refund_before_its_payment_waits_and_applies_with_the_grant(
    pool: asyncpg.Pool,
) -> None:
    await _apply(pool, [_paid("o0", credits=10, amount=100)])
    await _apply(pool, [_refunded("o1", 4_000, re="re_early")])
    [row] = await _refunds(pool)
    assert (row["status"], row["credits_due"], row["transaction_id"]) == ("pending", None, None)
    assert await _balance(pool, "user:alice") == 10
    assert await _revoked_events(pool) == []

    # A duplicate of the pending refund changes nothing either.
    await _apply(pool, [_refunded("o1", 4_000, re="re_early", envelope_id=uuid.uuid4())])
    assert len(await _refunds(pool)) == 1

    await _apply(
        pool, [_paid("o1", credits=1100, amount=10_000), _paid("o2", credits=1, amount=10)]
    )
    [row] = await _refunds(pool)
    assert (row["status"], row["credits_taken"], row["balance_after"]) == ("applied", 440, 670)
    rows = await pool.fetch(
        "SELECT kind, order_id, balance_after FROM transactions WHERE user_id = 'alice'"
        " ORDER BY seq"
    )
    # Right after its grant, before the next one.
    assert [tuple(r) for r in rows] == [
        ("grant", "o0", 10),
        ("grant", "o1", 1110),
        ("revoke", "o1", 670),
        ("grant", "o2", 671),
    ]
    assert await _balance(pool, "user:alice") == 671
    await _assert_books_balance(pool)


async def test_a_refund_before_its_payment_in_the_same_batch(pool: asyncpg.Pool) -> None:
    await _apply(pool, [_refunded("o1", 10_000), _paid("o1", credits=1100, amount=10_000)])
    [row] = await _refunds(pool)
    assert (row["status"], row["credits_taken"]) == ("applied", 1100)
    assert await _balance(pool, "user:alice") == 0
    await _assert_books_balance(pool)


async def test_refunds_that_cannot_apply_are_refused(pool: asyncpg.Pool) -> None:
    await _apply(pool, [_paid("o1", credits=1100, amount=10_000)])
    for bad, match in (
        (_refunded("o1", 100, currency="USD"), "USD"),
        (_refunded("o1", 10_001), "exceed"),
        (_refunded("o1", 100, user="mallory"), "mallory"),
    ):
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            with pytest.raises(RefundRefused, match=match):
                await handle(conn, [bad])
            await tx.rollback()
    assert await _balance(pool, "user:alice") == 1100
    assert await _refunds(pool) == []


async def test_a_pending_refund_that_cannot_apply_is_rejected_and_the_grant_stands(
    pool: asyncpg.Pool,
) -> None:
    await _apply(pool, [_refunded("o1", 100, currency="USD", re="re_usd")])
    await _apply(pool, [_paid("o1", credits=1100, amount=10_000)])
    [row] = await _refunds(pool)
    assert row["status"] == "rejected"
    assert "USD" in row["rejection"]
    assert await _balance(pool, "user:alice") == 1100
    # Settled once: the trigger refuses to reopen or rewrite it.
    with pytest.raises(asyncpg.RestrictViolationError, match="settled"):
        await pool.execute("UPDATE refunds SET status = 'pending', rejection = NULL")
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await pool.execute("DELETE FROM refunds")


async def test_two_writers_of_one_refund_revoke_it_once(pool: asyncpg.Pool) -> None:
    """A replay beside the live consumer: the same refund under two envelope ids, in two
    transactions at once. The user's lot locks serialize them; the second finds the first."""
    await _apply(pool, [_paid("o1", credits=1100, amount=10_000)])

    def refund() -> Refund:
        return Refund(
            event_id=uuid.uuid4(),
            refund_key="stripe:re_race",
            order_id="o1",
            user_id="alice",
            refund_id=None,
            provider="stripe",
            provider_refund_id="re_race",
            amount_minor=10_000,
            currency="CNY",
            reason=None,
            refunded_at=datetime.now(UTC),
        )

    async with pool.acquire() as first, pool.acquire() as second:
        tx1 = first.transaction()
        await tx1.start()
        assert await service.revoke_for_refund(first, refund(), CLOCK) != []
        tx2 = second.transaction()
        await tx2.start()
        late = asyncio.create_task(service.revoke_for_refund(second, refund(), CLOCK))
        await asyncio.sleep(0.3)
        assert not late.done()  # waiting for alice's lots
        await tx1.commit()
        assert await late == []
        await tx2.commit()
    assert await _balance(pool, "user:alice") == 0
    assert len(await _refunds(pool)) == 1
    await _assert_books_balance(pool)


async def test_a_waiting_refund_is_found_among_many(pool: asyncpg.Pool) -> None:
    """More refunds waiting than the grant path reads whole: the lookup by order takes over."""
    await _apply(pool, [_refunded(f"elsewhere-{i}", 100) for i in range(1001)])
    await _apply(pool, [_paid("elsewhere-7", credits=10, amount=100), _paid("o2", credits=3)])
    assert await pool.fetchval("SELECT count(*) FROM refunds WHERE status = 'pending'") == 1000
    assert (
        await pool.fetchval("SELECT credits_taken FROM refunds WHERE order_id = 'elsewhere-7'")
        == 10
    )
    assert await _balance(pool, "user:alice") == 3


async def test_a_refund_takes_its_orders_lot_first_then_the_next_in_consumption_order(
    pool: asyncpg.Pool,
) -> None:
    """o1 bought 100 credits, o2 200 (expiring first). Spending 150 took o2's soonest credits
    first; refunding o1 in full takes o1's own 100 back, untouched by the spend; refunding o2 in
    full then takes its 50 left and nothing else of alice's, and the rest is a shortfall."""
    soon = GrantSpec(quantity=200, validity="P1M", cost_minor=2_000)
    await _apply(
        pool,
        [
            _paid("o1", credits=100, amount=1_000),
            _consumed(paid_order("o2", "alice", soon, paid_at=CLOCK.now())),
            _paid("o3", credits=30, amount=300),
        ],
    )
    await _spend(pool, "alice", 150)
    lots = {
        r["order_id"]: (r["id"], r["remaining"])
        for r in await pool.fetch("SELECT order_id, id, remaining FROM lots")
    }
    assert {o: n for o, (_, n) in lots.items()} == {"o1": 100, "o2": 50, "o3": 30}

    await _apply(pool, [_refunded("o1", 1_000, re="re_o1")])
    moved = await pool.fetch(
        "SELECT e.lot_id, -e.delta AS n FROM lot_entries e JOIN transactions t"
        " ON t.id = e.transaction_id WHERE t.refund_key = 'stripe:re_o1'"
    )
    assert [(r["lot_id"], r["n"]) for r in moved] == [(lots["o1"][0], 100)]

    # o2's 200 are due, 50 are left in its lot: those, then o3's 30 (the next in consumption
    # order) are taken; 120 were already spent.
    await _apply(pool, [_refunded("o2", 2_000, re="re_o2")])
    row = (await _refunds(pool))[-1]
    assert (row["credits_due"], row["credits_taken"], row["shortfall"]) == (200, 80, 120)
    moved = await pool.fetch(
        "SELECT e.lot_id, -e.delta AS n FROM lot_entries e JOIN transactions t"
        " ON t.id = e.transaction_id WHERE t.refund_key = 'stripe:re_o2' ORDER BY n DESC"
    )
    assert [(r["lot_id"], r["n"]) for r in moved] == [(lots["o2"][0], 50), (lots["o3"][0], 30)]
    assert await _balance(pool, "user:alice") == 0
    [*_, event] = await _revoked_events(pool)
    assert sorted((x.lot_id, x.credits) for x in event.lots) == sorted(
        [(lots["o2"][0], 50), (lots["o3"][0], 30)]
    )
    await _assert_books_balance(pool)


def _paid_with(order: str, payment: str, credits: int = 1100, amount: int = 10_000) -> Consumed:
    paid = paid_order(
        order, "alice", GrantSpec(quantity=credits, cost_minor=amount), paid_minor=amount
    )
    return _consumed(paid.model_copy(update={"provider_payment_id": payment}))


def _refunded_payment(order: str, amount: int, payment: str | None) -> Consumed:
    env = _refunded(order, amount)
    refund = env.envelope.payload_as(RefundSucceededV1)
    return _consumed(refund.model_copy(update={"provider_payment_id": payment}), id=env.envelope.id)


async def test_a_refund_of_a_second_payment_leaves_the_grant(pool: asyncpg.Pool) -> None:
    # Checkout refunded a second payment of o1 (issue 15): o1's grant was paid by pi_first.
    await _apply(pool, [_paid_with("o1", "pi_first")])
    await _apply(pool, [_refunded_payment("o1", 10_000, "pi_second")])
    [row] = await _refunds(pool)
    assert (row["status"], row["transaction_id"]) == ("rejected", None)
    assert "pi_second" in row["rejection"]
    assert await _balance(pool, "user:alice") == 1100
    assert await _revoked_events(pool) == []

    # A refund of the order's own payment, and one from before refunds named their payment,
    # take back as they always did.
    await _apply(pool, [_refunded_payment("o1", 5_000, "pi_first")])
    await _apply(pool, [_refunded_payment("o1", 5_000, None)])
    assert [r["status"] for r in await _refunds(pool)] == ["rejected", "applied", "applied"]
    assert await _balance(pool, "user:alice") == 0
    await _assert_books_balance(pool)


async def test_a_second_payments_refund_before_the_grant_waits_then_leaves_it(
    pool: asyncpg.Pool,
) -> None:
    await _apply(pool, [_refunded_payment("o1", 10_000, "pi_second")])
    [row] = await _refunds(pool)
    assert row["status"] == "pending"
    await _apply(pool, [_paid_with("o1", "pi_first")])
    [row] = await _refunds(pool)
    assert row["status"] == "rejected"
    assert await _balance(pool, "user:alice") == 1100
    await _assert_books_balance(pool)


async def _race(pool: asyncpg.Pool, paid: Consumed, refunded: Consumed) -> None:
    """The grant's batch and the refund's in two transactions at once, the refund's committed
    first: the refund does not see the uncommitted grant, nor the grant the refund."""
    async with pool.acquire() as granting, pool.acquire() as refunding:
        tx = granting.transaction()
        await tx.start()
        await handle(granting, await record_inbox(granting, [paid]))
        async with refunding.transaction():
            await handle(refunding, await record_inbox(refunding, [refunded]))
        await tx.commit()
    [row] = await _refunds(pool)
    assert row["status"] == "pending"


async def test_a_refund_left_waiting_beside_its_grant_is_settled_by_the_jobs(
    pool: asyncpg.Pool,
) -> None:
    """A grant and its refund applied by two processes at once (what the consumers' range
    assignment and hand-over prevent, unless a hand-over runs out of time): each transaction
    misses the other's row, the refund is recorded pending after its grant. The jobs settle it,
    once, and a batch that grants the order again finds it settled."""
    paid = _paid("o1", credits=1100, amount=10_000)
    await _race(pool, paid, _refunded("o1", 4_000, re="re_x"))
    [row] = await _refunds(pool)
    assert row["status"] == "pending"
    assert await _balance(pool, "user:alice") == 1100

    done = await run_jobs(pool, CLOCK)
    assert done.refunds_settled == 1
    [row] = await _refunds(pool)
    assert (row["status"], row["credits_taken"], row["balance_after"]) == ("applied", 440, 660)
    assert await _balance(pool, "user:alice") == 660
    assert [e.credits for e in await _revoked_events(pool)] == [440]
    assert (await run_jobs(pool, CLOCK)).refunds_settled == 0
    # The grant delivered again (another envelope of it) grants nothing and applies nothing.
    again = _consumed(paid.envelope.payload_as(OrderPaidV1), id=uuid.uuid4())
    await _apply(pool, [again])
    assert await _balance(pool, "user:alice") == 660
    assert len(await _revoked_events(pool)) == 1
    await _assert_books_balance(pool)


async def test_the_jobs_and_a_batch_settling_one_waiting_refund_apply_it_once(
    pool: asyncpg.Pool,
) -> None:
    """A batch applying the same waiting refunds as the job at that moment (a redelivered
    grant of the order, say) waits for the job's locks, then reads them settled."""
    await _race(pool, _paid("o1", credits=1100, amount=10_000), _refunded("o1", 4_000, re="re_y"))
    async with pool.acquire() as job:
        tx = job.transaction()
        await tx.start()
        assert await service.apply_pending_refunds(job, "o1", CLOCK) == 1
        async with pool.acquire() as batch:
            late = asyncio.create_task(_settle_in(batch, "o1"))
            await asyncio.sleep(0.3)
            assert not late.done()  # waiting for alice's lots
            await tx.commit()
            assert await late == 0
    [row] = await _refunds(pool)
    assert (row["status"], row["credits_taken"]) == ("applied", 440)
    assert len(await _revoked_events(pool)) == 1
    await _assert_books_balance(pool)


async def _settle_in(conn: asyncpg.Connection, order_id: str) -> int:
    async with conn.transaction():
        return await service.apply_pending_refunds(conn, order_id, CLOCK)
