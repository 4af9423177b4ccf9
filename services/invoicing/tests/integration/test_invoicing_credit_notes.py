"""Credit notes from refund events, through the invoicing batch handler on the real PostgreSQL:
one per refund_key, against the invoice of the order, numbered gap-free in their own series (also
under concurrent batches), the invoice's refunded total and status kept, refunds before their
payment waiting for the invoice, refunds that cannot be credited refused."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from paystream.devtools.records import consumed
from paystream.invoicing.consumers import handle_payment_events
from paystream.invoicing.domain import RefundRefused, format_credit_note_number
from paystream.invoicing.service import settle_waiting_refunds
from paystream.shared.events import Envelope, RefundSucceededV1, refund_event_id
from paystream.shared.kafka import record_inbox

pytestmark = pytest.mark.integration

REFUNDED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def refunded(
    order_id: str,
    amount: int,
    *,
    re: str | None = None,
    user_id: str = "alice",
    currency: str = "CNY",
    envelope_id: uuid.UUID | None = None,
    refunded_at: datetime = REFUNDED_AT,
) -> Envelope:
    re = re or f"re_{uuid.uuid4().hex[:12]}"
    return Envelope.wrap(
        RefundSucceededV1(
            order_id=order_id,
            user_id=user_id,
            refund_id=f"rf-{re}",
            provider="stripe",
            provider_refund_id=re,
            provider_payment_id=f"pi_{order_id}",
            amount_minor=amount,
            currency=currency,
            reason="requested_by_customer",
            refunded_at=refunded_at,
        ),
        source="paystream/test",
        subject=user_id,
        id=envelope_id or refund_event_id("succeeded", "stripe", re),
    )


async def _notes(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT number, refund_key, invoice_number, order_id, amount_minor, currency, credits,"
        " reason, refund_id FROM credit_notes ORDER BY number"
    )
    return [dict(r) for r in rows]


async def _invoice(pool: asyncpg.Pool, order_id: str) -> tuple[str, str, int]:
    row = await pool.fetchrow(
        "SELECT number, status, refunded_minor FROM invoices WHERE order_id = $1", order_id
    )
    return row["number"], row["status"], row["refunded_minor"]


async def _refund_statuses(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch("SELECT refund_key, status FROM refunds")
    return {r["refund_key"]: r["status"] for r in rows}


async def test_a_full_refund_issues_a_credit_note_against_the_invoice(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([make_envelope(make_paid("ord-a"))])
    await apply_batch([refunded("ord-a", 10_000, re="re_full")])

    assert await _notes(invoicing_pool) == [
        {
            "number": "CN-2026-000001",
            "refund_key": "stripe:re_full",
            "invoice_number": "INV-2026-000001",
            "order_id": "ord-a",
            "amount_minor": 10_000,
            "currency": "CNY",
            "credits": 1100,
            "reason": "requested_by_customer",
            "refund_id": "rf-re_full",
        }
    ]
    assert await _invoice(invoicing_pool, "ord-a") == ("INV-2026-000001", "refunded", 10_000)
    assert await _refund_statuses(invoicing_pool) == {"stripe:re_full": "credited"}


async def test_partial_refunds_credit_their_shares_and_add_up(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([make_envelope(make_paid("ord-a", credits=100, amount_minor=300))])
    await apply_batch([refunded("ord-a", 100)])
    assert await _invoice(invoicing_pool, "ord-a") == (
        "INV-2026-000001",
        "partially_refunded",
        100,
    )
    await apply_batch([refunded("ord-a", 100), refunded("ord-a", 100)])
    notes = await _notes(invoicing_pool)
    assert [(n["number"], n["credits"]) for n in notes] == [
        ("CN-2026-000001", 33),
        ("CN-2026-000002", 33),
        ("CN-2026-000003", 34),
    ]
    assert await _invoice(invoicing_pool, "ord-a") == ("INV-2026-000001", "refunded", 300)
    # Nothing left: one more cent is refused and issues nothing.
    with pytest.raises(RefundRefused, match="exceed"):
        await apply_batch([refunded("ord-a", 1)])
    assert len(await _notes(invoicing_pool)) == 3


async def test_a_refund_is_credited_once_whatever_number_of_events_announce_it(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([make_envelope(make_paid("ord-a"))])
    first = refunded("ord-a", 2_500, re="re_dup")
    assert (
        await apply_batch(
            [first, first, refunded("ord-a", 2_500, re="re_dup", envelope_id=uuid.uuid4())]
        )
        == 2
    )  # the inbox drops the repeated envelope, the refund_key the other one
    await apply_batch([first])
    await apply_batch([refunded("ord-a", 2_500, re="re_dup", envelope_id=uuid.uuid4())])
    async with invoicing_pool.acquire() as conn, conn.transaction():
        await handle_payment_events(conn, [consumed(first)])

    [note] = await _notes(invoicing_pool)
    assert (note["number"], note["credits"]) == ("CN-2026-000001", 275)
    assert await _invoice(invoicing_pool, "ord-a") == (
        "INV-2026-000001",
        "partially_refunded",
        2_500,
    )
    # No number was burnt by the duplicates.
    assert await invoicing_pool.fetchval("SELECT last_number FROM credit_note_sequences") == 1


async def test_a_refund_in_the_batch_of_its_payment_sees_the_invoice(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch(
        [
            make_envelope(make_paid("ord-a")),
            refunded("ord-a", 10_000, re="re_a"),
            make_envelope(make_paid("ord-b")),
            refunded("ord-b", 5_000, re="re_b"),
        ]
    )
    notes = await _notes(invoicing_pool)
    assert [(n["number"], n["invoice_number"], n["credits"]) for n in notes] == [
        ("CN-2026-000001", "INV-2026-000001", 1100),
        ("CN-2026-000002", "INV-2026-000002", 550),
    ]


async def test_a_refund_before_its_payment_waits_for_the_invoice(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([refunded("ord-late", 4_000, re="re_early")])
    assert await _notes(invoicing_pool) == []
    assert await _refund_statuses(invoicing_pool) == {"stripe:re_early": "pending"}
    # Its duplicate changes nothing while it waits.
    await apply_batch([refunded("ord-late", 4_000, re="re_early", envelope_id=uuid.uuid4())])

    # In stream order: the refund of ord-x (earlier in the batch) before the one that waited for
    # ord-late's invoice, and ord-y's refund, which comes before its own payment in the batch,
    # numbered at its payment's place.
    await apply_batch(
        [
            make_envelope(make_paid("ord-x")),
            refunded("ord-x", 1_000, re="re_x"),
            refunded("ord-y", 10_000, re="re_y"),
            make_envelope(make_paid("ord-late")),
            make_envelope(make_paid("ord-y")),
        ]
    )
    notes = await _notes(invoicing_pool)
    assert [(n["number"], n["refund_key"], n["invoice_number"], n["credits"]) for n in notes] == [
        ("CN-2026-000001", "stripe:re_x", "INV-2026-000001", 110),
        ("CN-2026-000002", "stripe:re_early", "INV-2026-000002", 440),
        ("CN-2026-000003", "stripe:re_y", "INV-2026-000003", 1100),
    ]
    assert set((await _refund_statuses(invoicing_pool)).values()) == {"credited"}
    assert await _invoice(invoicing_pool, "ord-late") == (
        "INV-2026-000002",
        "partially_refunded",
        4_000,
    )


async def test_refunds_that_cannot_be_credited_are_refused_or_rejected(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([make_envelope(make_paid("ord-a"))])
    with pytest.raises(RefundRefused, match="USD"):
        await apply_batch([refunded("ord-a", 100, currency="USD")])
    with pytest.raises(RefundRefused, match="exceed"):
        await apply_batch([refunded("ord-a", 10_001)])

    # Found only when the invoice arrives: the invoice is issued, the refund rejected.
    await apply_batch([refunded("ord-b", 100, currency="USD", re="re_usd")])
    await apply_batch([make_envelope(make_paid("ord-b"))])
    assert await _invoice(invoicing_pool, "ord-b") == ("INV-2026-000002", "paid", 0)
    row = await invoicing_pool.fetchrow(
        "SELECT status, rejection FROM refunds WHERE refund_key = 'stripe:re_usd'"
    )
    assert row["status"] == "rejected"
    assert "USD" in row["rejection"]
    assert await _notes(invoicing_pool) == []


async def test_the_database_keeps_invoice_status_and_credit_notes_consistent(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([make_envelope(make_paid("ord-a"))])
    with pytest.raises(asyncpg.CheckViolationError):
        await invoicing_pool.execute(
            "UPDATE invoices SET refunded_minor = 100 WHERE order_id = 'ord-a'"
        )  # status would still say paid
    with pytest.raises(asyncpg.CheckViolationError):
        await invoicing_pool.execute(
            "UPDATE invoices SET refunded_minor = 10001, status = 'refunded'"
        )
    await apply_batch([refunded("ord-a", 100, re="re_1")])
    with pytest.raises(asyncpg.UniqueViolationError):
        await invoicing_pool.execute(
            "INSERT INTO credit_notes SELECT gen_random_uuid(), 'CN-2026-000099', refund_key,"
            " invoice_id, invoice_number, order_id, user_id, amount_minor, currency, credits,"
            " reason, refund_id, provider, provider_refund_id, refunded_at, issued_at,"
            " refund_event_id FROM credit_notes"
        )  # a second credit note for the same refund


async def _credit_in_own_transaction(
    dsn: str, envs: list[Envelope], begun: asyncio.Barrier, *, roll_back: bool
) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        await begun.wait()
        items = [consumed(e) for e in envs]
        fresh = await record_inbox(conn, items)
        await handle_payment_events(conn, fresh)
        await asyncio.sleep(0.01)
        if roll_back:
            await tx.rollback()
        else:
            await tx.commit()
    finally:
        await conn.close()


async def test_concurrent_batches_number_credit_notes_without_gaps(
    invoicing_dsn, invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    orders = [f"ord-{i}" for i in range(12)]
    await apply_batch([make_envelope(make_paid(o)) for o in orders])
    # 12 batches at once, each refunding two orders (so two batches share each order: their
    # credit notes are computed one writer at a time); every fourth batch rolls back after
    # taking its numbers, and one batch also refunds across the New Year.
    batches = [
        [
            refunded(orders[i], 1_000, re=f"re-{i}-a"),
            refunded(orders[(i + 1) % 12], 1_000, re=f"re-{i}-b"),
            *(
                [refunded(orders[i], 500, re="re-ny", refunded_at=datetime(2027, 1, 1, tzinfo=UTC))]
                if i == 5
                else []
            ),
        ]
        for i in range(12)
    ]
    begun = asyncio.Barrier(len(batches))
    await asyncio.wait_for(
        asyncio.gather(
            *(
                _credit_in_own_transaction(invoicing_dsn, b, begun, roll_back=i % 4 == 3)
                for i, b in enumerate(batches)
            )
        ),
        timeout=60,
    )
    kept = [b for i, b in enumerate(batches) if i % 4 != 3]
    numbers = [n["number"] for n in await _notes(invoicing_pool)]
    in_2026 = sum(len(b) for b in kept) - 1
    assert sorted(numbers) == sorted(
        [format_credit_note_number(2026, n) for n in range(1, in_2026 + 1)]
        + [format_credit_note_number(2027, 1)]
    )
    # Each invoice's refunded total is the sum of its credit notes: no lost update.
    mismatched = await invoicing_pool.fetch(
        "SELECT i.number FROM invoices i LEFT JOIN credit_notes c ON c.invoice_id = i.id"
        " GROUP BY i.id HAVING i.refunded_minor <> coalesce(sum(c.amount_minor), 0)"
    )
    assert mismatched == []
    credits = await invoicing_pool.fetch(
        "SELECT invoice_id, sum(credits) AS c, sum(amount_minor) AS a FROM credit_notes"
        " GROUP BY invoice_id"
    )
    # 1100 credits for 100.00: every 10.00 refunded concerns 110 credits, 5.00 concerns 55.
    assert all(r["c"] * 10_000 == r["a"] * 1100 for r in credits)


async def test_a_waiting_refund_is_found_among_many(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    """More refunds waiting than a batch reads whole: the lookup by order takes over."""
    await apply_batch([refunded(f"elsewhere-{i}", 100) for i in range(1001)])
    await apply_batch([make_envelope(make_paid("elsewhere-7")), make_envelope(make_paid("ord-b"))])
    [note] = await _notes(invoicing_pool)
    assert (note["order_id"], note["credits"]) == ("elsewhere-7", 11)
    assert (
        await invoicing_pool.fetchval("SELECT count(*) FROM refunds WHERE status = 'pending'")
        == 1000
    )


def _refunded_payment(order_id: str, amount: int, payment: str | None, re: str) -> Envelope:
    env = refunded(order_id, amount, re=re)
    refund = env.payload_as(RefundSucceededV1).model_copy(update={"provider_payment_id": payment})
    return Envelope.wrap(refund, source="paystream/test", subject=env.subject, id=env.id)


async def test_a_refund_of_a_second_payment_issues_no_credit_note(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    # Checkout refunded a second payment of ord-a (issue 15); its invoice was paid by pi_ord-a.
    await apply_batch([make_envelope(make_paid("ord-a"))])
    await apply_batch([_refunded_payment("ord-a", 10_000, "pi_second", "re_second")])
    assert await _notes(invoicing_pool) == []
    assert await _invoice(invoicing_pool, "ord-a") == ("INV-2026-000001", "paid", 0)
    row = await invoicing_pool.fetchrow(
        "SELECT status, rejection FROM refunds WHERE refund_key = 'stripe:re_second'"
    )
    assert row["status"] == "rejected"
    assert "pi_second" in row["rejection"]

    # Waiting for its invoice, it is settled the same way when the invoice comes.
    await apply_batch([_refunded_payment("ord-b", 10_000, "pi_second_b", "re_second_b")])
    await apply_batch([make_envelope(make_paid("ord-b"))])
    assert await _invoice(invoicing_pool, "ord-b") == ("INV-2026-000002", "paid", 0)
    assert (await _refund_statuses(invoicing_pool))["stripe:re_second_b"] == "rejected"

    # Refunds of the invoice's own payment, and events from before refunds named their
    # payment, are credited as they always were.
    await apply_batch([_refunded_payment("ord-a", 4_000, "pi_ord-a", "re_own")])
    await apply_batch([_refunded_payment("ord-a", 6_000, None, "re_old")])
    assert [n["refund_key"] for n in await _notes(invoicing_pool)] == [
        "stripe:re_own",
        "stripe:re_old",
    ]
    assert await _invoice(invoicing_pool, "ord-a") == ("INV-2026-000001", "refunded", 10_000)


async def test_a_refund_left_waiting_beside_its_invoice_is_credited_by_the_sweep(
    invoicing_pool, make_paid, make_envelope
) -> None:
    """An order's payment and its refund applied by two processes at once (what the consumers'
    range assignment and hand-over prevent, unless a hand-over runs out of time): each
    transaction misses the other's row, and the refund is recorded pending beside its invoice.
    The sweep credits it, once."""
    await _race(
        invoicing_pool, make_envelope(make_paid("ord-r")), refunded("ord-r", 4_000, re="re_race")
    )
    assert await _refund_statuses(invoicing_pool) == {"stripe:re_race": "pending"}
    assert await _notes(invoicing_pool) == []

    assert await settle_waiting_refunds(invoicing_pool) == 1
    notes = await _notes(invoicing_pool)
    assert [(n["number"], n["refund_key"], n["invoice_number"], n["credits"]) for n in notes] == [
        ("CN-2026-000001", "stripe:re_race", "INV-2026-000001", 440)
    ]
    assert await _refund_statuses(invoicing_pool) == {"stripe:re_race": "credited"}
    assert await _invoice(invoicing_pool, "ord-r") == (
        "INV-2026-000001",
        "partially_refunded",
        4_000,
    )
    assert await settle_waiting_refunds(invoicing_pool) == 0
    assert len(await _notes(invoicing_pool)) == 1


async def test_a_consuming_replica_sweeps_waiting_refunds_on_its_own(
    invoicing_pool, invoicing_client, test_topics, make_paid, make_envelope
) -> None:
    await _race(
        invoicing_pool, make_envelope(make_paid("ord-s")), refunded("ord-s", 500, re="re_s")
    )
    async with invoicing_client(
        invoicing_run_consumer=True,
        topic_prefix=test_topics.prefix,
        invoicing_waiting_refunds_interval_s=0.1,
    ):
        for _ in range(200):
            if await _refund_statuses(invoicing_pool) == {"stripe:re_s": "credited"}:
                break
            await asyncio.sleep(0.05)
    assert await _refund_statuses(invoicing_pool) == {"stripe:re_s": "credited"}
    assert [n["refund_key"] for n in await _notes(invoicing_pool)] == ["stripe:re_s"]


async def _race(pool: asyncpg.Pool, paid: Envelope, refund: Envelope) -> None:
    """The payment's batch and the refund's in two transactions at once, the refund's committed
    first: neither sees the other's row."""
    async with pool.acquire() as paying, pool.acquire() as refunding:
        tx = paying.transaction()
        await tx.start()
        await handle_payment_events(paying, await record_inbox(paying, [consumed(paid)]))
        async with refunding.transaction():
            items = await record_inbox(refunding, [consumed(refund)])
            await handle_payment_events(refunding, items)
        await tx.commit()
    assert set((await _refund_statuses(pool)).values()) == {"pending"}
