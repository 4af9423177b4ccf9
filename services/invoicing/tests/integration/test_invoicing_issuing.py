"""Issuing invoices on the real PostgreSQL: one per order, gap-free numbers, concurrency,
rollbacks and the change of year."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from paystream.devtools.explain import explain_analyze, rows_read, seq_rows_read
from paystream.invoicing import repository as repo
from paystream.invoicing import service
from paystream.invoicing.domain import NewInvoice, format_invoice_number
from paystream.shared.events import OrderCreatedV1, PaymentFailedV1
from paystream.shared.money import CurrencyError

pytestmark = pytest.mark.integration

PAID_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _numbers(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch("SELECT order_id, number FROM invoices")
    return {r["order_id"]: r["number"] for r in rows}


async def _last_number(pool: asyncpg.Pool, year: int) -> int | None:
    n: int | None = await pool.fetchval(
        "SELECT last_number FROM invoice_sequences WHERE year = $1", year
    )
    return n


async def test_several_events_for_one_order_issue_one_invoice_and_burn_no_number(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    # Stripe reports one payment twice: checkout.session.completed, then payment_intent.succeeded.
    session_completed = make_envelope(make_paid("ord-a", provider_event_id="evt_cs"))
    intent_succeeded = make_envelope(make_paid("ord-a", provider_event_id="evt_pi"))

    assert await apply_batch([session_completed]) == 1
    assert await apply_batch([intent_succeeded]) == 1  # a new event for the inbox...
    assert await apply_batch([session_completed]) == 0  # ...a redelivery is not
    assert await _numbers(invoicing_pool) == {"ord-a": "INV-2026-000001"}

    # One batch: two events of order b, a failure and then a success of order c.
    await apply_batch(
        [
            make_envelope(make_paid("ord-b")),
            make_envelope(make_paid("ord-b")),
            make_envelope(
                PaymentFailedV1(
                    order_id="ord-c",
                    user_id="alice",
                    provider="stripe",
                    provider_event_id="evt_fail",
                    reason="card_declined",
                    failed_at=PAID_AT,
                )
            ),
            make_envelope(make_paid("ord-c")),
            make_envelope(make_paid("ord-a")),
        ]
    )
    assert await _numbers(invoicing_pool) == {
        "ord-a": "INV-2026-000001",
        "ord-b": "INV-2026-000002",
        "ord-c": "INV-2026-000003",
    }
    assert await _last_number(invoicing_pool, 2026) == 3

    row = await invoicing_pool.fetchrow("SELECT * FROM invoices WHERE order_id = 'ord-a'")
    assert dict(row) | {"id": None, "issued_at": None} == {
        "id": None,
        "number": "INV-2026-000001",
        "order_id": "ord-a",
        "user_id": "alice",
        "package_id": "standard",
        "description": "standard — 1,100 credits",
        "credits": 1100,
        "amount_minor": 10_000,
        "currency": "CNY",
        "provider": "stripe",
        "provider_payment_id": "pi_ord-a",
        "status": "paid",
        "paid_at": PAID_AT,
        "issued_at": None,
        # The first event that reported the payment is the one the invoice records.
        "payment_event_id": session_completed.id,
        "refunded_minor": 0,
        # No billing profile, and no seller recorded (the app never started on this database).
        "buyer": None,
        "seller": None,
        # What the order cost (as paid here) and its lines, from checkout's OrderPaidV1.
        "ordered_minor": 10_000,
        "lines": [
            {
                "description": "standard — 1,100 credits",
                "quantity": 1,
                "unit_amount_minor": 10_000,
                "amount_minor": 10_000,
            }
        ],
    }
    assert row["issued_at"] > PAID_AT


async def test_other_event_types_are_ignored(invoicing_pool, apply_batch, make_envelope) -> None:
    failed = PaymentFailedV1(
        order_id="ord-x",
        user_id="alice",
        provider="alipay",
        provider_event_id="evt_1",
        reason="timeout",
        failed_at=PAID_AT,
    )
    created = OrderCreatedV1(
        order_id="ord-x",
        user_id="alice",
        package_id="standard",
        credits=1100,
        amount_minor=10_000,
        currency="CNY",
        payment_method="alipay",
        created_at=PAID_AT,
    )
    assert await apply_batch([make_envelope(failed), make_envelope(created)]) == 2
    assert await invoicing_pool.fetchval("SELECT count(*) FROM invoices") == 0
    assert await invoicing_pool.fetchval("SELECT count(*) FROM invoice_sequences") == 0


async def test_unknown_currency_fails_the_batch_and_takes_no_number(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    with pytest.raises(CurrencyError):
        await apply_batch([make_envelope(make_paid("ord-bad", currency="XXX"))])
    await apply_batch([make_envelope(make_paid("ord-ok"))])
    assert await _numbers(invoicing_pool) == {"ord-ok": "INV-2026-000001"}


async def test_amounts_keep_their_currency_exponent(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch(
        [
            make_envelope(make_paid("jpy", amount_minor=1500, currency="JPY")),
            # 1,000,000 USDT: 10^12 micro-USDT does not fit a 32-bit column.
            make_envelope(make_paid("usdt", amount_minor=10**12, currency="USDT")),
        ]
    )
    rows = await invoicing_pool.fetch("SELECT order_id, amount_minor, currency FROM invoices")
    assert {r["order_id"]: (r["amount_minor"], r["currency"]) for r in rows} == {
        "jpy": (1500, "JPY"),
        "usdt": (10**12, "USDT"),
    }


async def _issue_in_own_transaction(
    dsn: str,
    order_id: str,
    begun: asyncio.Barrier,
    *,
    roll_back: bool,
    make_paid,
) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        await begun.wait()
        issued = await service.issue_invoices(
            conn, [service.PaidOrder(uuid.uuid4(), make_paid(order_id, paid_at=PAID_AT))]
        )
        assert len(issued) == 1
        # Hold the year's counter a little so the others really queue behind it.
        await asyncio.sleep(0.01)
        if roll_back:
            await tx.rollback()
        else:
            await tx.commit()
    finally:
        await conn.close()


async def test_concurrent_transactions_get_gap_free_numbers(
    invoicing_dsn, invoicing_pool, make_paid
) -> None:
    # 25 transactions open at once (each waits until all have begun before it takes a number);
    # every fifth one rolls back after taking its number.
    begun = asyncio.Barrier(25)
    tasks = [
        asyncio.create_task(
            _issue_in_own_transaction(
                invoicing_dsn, f"ord-{i}", begun, roll_back=i % 5 == 4, make_paid=make_paid
            )
        )
        for i in range(25)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)

    numbers = await _numbers(invoicing_pool)
    assert sorted(numbers.values()) == [format_invoice_number(2026, n) for n in range(1, 21)]
    assert set(numbers) == {f"ord-{i}" for i in range(25) if i % 5 != 4}
    assert await _last_number(invoicing_pool, 2026) == 20


async def test_rolled_back_transaction_gives_its_number_back(
    invoicing_dsn, invoicing_pool, make_paid
) -> None:
    first = await asyncpg.connect(invoicing_dsn)
    second = await asyncpg.connect(invoicing_dsn)
    try:
        tx1 = first.transaction()
        await tx1.start()
        [taken] = await service.issue_invoices(
            first, [service.PaidOrder(uuid.uuid4(), make_paid("ord-rolled-back"))]
        )
        assert taken.number == "INV-2026-000001"

        async with second.transaction():
            waiting = asyncio.create_task(
                service.issue_invoices(
                    second, [service.PaidOrder(uuid.uuid4(), make_paid("ord-kept"))]
                )
            )
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the second issuer must wait for the year's counter"
            await tx1.rollback()
            [kept] = await waiting
        assert kept.number == "INV-2026-000001"
    finally:
        await first.close()
        await second.close()
    assert await _numbers(invoicing_pool) == {"ord-kept": "INV-2026-000001"}
    assert await _last_number(invoicing_pool, 2026) == 1


async def test_racing_events_for_one_order_issue_one_invoice_and_burn_no_number(
    invoicing_dsn, invoicing_pool, make_paid
) -> None:
    first = await asyncpg.connect(invoicing_dsn)
    second = await asyncpg.connect(invoicing_dsn)
    try:
        tx1 = first.transaction()
        await tx1.start()
        [won] = await service.issue_invoices(
            first, [service.PaidOrder(uuid.uuid4(), make_paid("ord-a", provider_event_id="cs"))]
        )
        async with second.transaction():
            # Its duplicate check cannot see the uncommitted invoice: the loser gets as far as
            # the counter and waits there.
            racing = asyncio.create_task(
                service.issue_invoices(
                    second,
                    [service.PaidOrder(uuid.uuid4(), make_paid("ord-a", provider_event_id="pi"))],
                )
            )
            await asyncio.sleep(0.3)
            assert not racing.done()
            await tx1.commit()
            assert await racing == []
            [next_one] = await service.issue_invoices(
                second, [service.PaidOrder(uuid.uuid4(), make_paid("ord-b"))]
            )
    finally:
        await first.close()
        await second.close()
    assert won.number == "INV-2026-000001"
    assert next_one.number == "INV-2026-000002"
    assert await _numbers(invoicing_pool) == {
        "ord-a": "INV-2026-000001",
        "ord-b": "INV-2026-000002",
    }


async def test_a_race_in_a_batch_gives_its_other_orders_the_next_numbers(
    invoicing_dsn, invoicing_pool, make_paid
) -> None:
    first = await asyncpg.connect(invoicing_dsn)
    second = await asyncpg.connect(invoicing_dsn)
    try:
        tx1 = first.transaction()
        await tx1.start()
        [won] = await service.issue_invoices(
            first, [service.PaidOrder(uuid.uuid4(), make_paid("ord-a", provider_event_id="cs"))]
        )
        async with second.transaction():
            racing = asyncio.create_task(
                service.issue_invoices(
                    second,
                    [
                        service.PaidOrder(uuid.uuid4(), make_paid("ord-x")),
                        service.PaidOrder(uuid.uuid4(), make_paid("ord-a", provider_event_id="pi")),
                        service.PaidOrder(uuid.uuid4(), make_paid("ord-y")),
                    ],
                )
            )
            await asyncio.sleep(0.3)
            assert not racing.done(), "the batch must wait for the year's counter"
            await tx1.commit()
            issued = await racing
    finally:
        await first.close()
        await second.close()
    # The batch took three numbers, lost ord-a, gave all three back and took two.
    assert won.number == "INV-2026-000001"
    assert [(i.order_id, i.number) for i in issued] == [
        ("ord-x", "INV-2026-000002"),
        ("ord-y", "INV-2026-000003"),
    ]
    assert await _numbers(invoicing_pool) == {
        "ord-a": "INV-2026-000001",
        "ord-x": "INV-2026-000002",
        "ord-y": "INV-2026-000003",
    }
    assert await _last_number(invoicing_pool, 2026) == 3


async def _issue_batch_in_own_transaction(
    dsn: str, order_ids: list[str], begun: asyncio.Barrier, *, roll_back: bool, make_paid
) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        await begun.wait()
        await service.issue_invoices(
            conn, [service.PaidOrder(uuid.uuid4(), make_paid(o)) for o in order_ids]
        )
        await asyncio.sleep(0.01)
        if roll_back:
            await tx.rollback()
        else:
            await tx.commit()
    finally:
        await conn.close()


async def test_concurrent_batches_sharing_orders_get_gap_free_numbers(
    invoicing_dsn, invoicing_pool, make_paid
) -> None:
    # 10 batches at once; batches 2k and 2k+1 share an order (a replay beside the live
    # consumer), and every fifth batch rolls back after taking its numbers.
    batches = [[f"ord-{i}-{k}" for k in range(4)] + [f"shared-{i // 2}"] for i in range(10)]
    kept = [b for i, b in enumerate(batches) if i % 5 != 4]
    begun = asyncio.Barrier(len(batches))
    tasks = [
        asyncio.create_task(
            _issue_batch_in_own_transaction(
                invoicing_dsn, b, begun, roll_back=i % 5 == 4, make_paid=make_paid
            )
        )
        for i, b in enumerate(batches)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)

    expected_orders = {o for b in kept for o in b}
    numbers = await _numbers(invoicing_pool)
    assert set(numbers) == expected_orders
    assert sorted(numbers.values()) == [
        format_invoice_number(2026, n) for n in range(1, len(expected_orders) + 1)
    ]
    assert await _last_number(invoicing_pool, 2026) == len(expected_orders)


async def test_a_batch_across_years_numbers_each_year_in_record_order(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    y2026, y2027 = datetime(2026, 12, 31, 23, 0, tzinfo=UTC), datetime(2027, 1, 1, 1, tzinfo=UTC)
    await apply_batch([make_envelope(make_paid("before", paid_at=y2027))])
    await apply_batch(
        [
            make_envelope(make_paid(order_id, paid_at=paid_at))
            for order_id, paid_at in [
                ("a", y2026),
                ("b", y2027),
                ("c", y2026),
                ("a", y2027),  # a duplicate keeps the first event's year and takes nothing
                ("before", y2026),
                ("d", y2027),
                ("e", y2026),
            ]
        ]
    )
    assert await _numbers(invoicing_pool) == {
        "before": "INV-2027-000001",
        "a": "INV-2026-000001",
        "b": "INV-2027-000002",
        "c": "INV-2026-000002",
        "d": "INV-2027-000003",
        "e": "INV-2026-000003",
    }
    assert await _last_number(invoicing_pool, 2026) == 3
    assert await _last_number(invoicing_pool, 2027) == 3


async def test_invoices_of_one_batch_keep_their_issuing_order_in_time(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([make_envelope(make_paid(f"ord-{i:03d}")) for i in range(200)])
    rows = await invoicing_pool.fetch("SELECT number FROM invoices ORDER BY issued_at, id")
    assert [r["number"] for r in rows] == [format_invoice_number(2026, n) for n in range(1, 201)]
    assert await invoicing_pool.fetchval("SELECT count(DISTINCT issued_at) FROM invoices") == 200


async def test_numbering_restarts_each_utc_year_of_payment(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch(
        [
            make_envelope(
                make_paid("last-2026", paid_at=datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
            ),
            make_envelope(
                make_paid("first-2027", paid_at=datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC))
            ),
        ]
    )
    # A 2026 payment whose event arrives in 2027, stamped in Shanghai time.
    shanghai = timezone(timedelta(hours=8))
    await apply_batch(
        [make_envelope(make_paid("late-2026", paid_at=datetime(2027, 1, 1, 7, 0, tzinfo=shanghai)))]
    )
    await apply_batch(
        [make_envelope(make_paid("second-2027", paid_at=datetime(2027, 1, 2, tzinfo=UTC)))]
    )
    assert await _numbers(invoicing_pool) == {
        "last-2026": "INV-2026-000001",
        "first-2027": "INV-2027-000001",
        "late-2026": "INV-2026-000002",
        "second-2027": "INV-2027-000002",
    }


async def test_database_refuses_a_second_invoice_with_a_number_or_an_order(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([make_envelope(make_paid("ord-a"))])
    fields = {
        "package_id": None,
        "description": "x",
        "credits": 1,
        "amount_minor": 1,
        "currency": "CNY",
        "provider": "stripe",
        "provider_payment_id": None,
        "status": "paid",
        "paid_at": PAID_AT,
        "payment_event_id": uuid.uuid4(),
        "user_id": "alice",
    }
    async with invoicing_pool.acquire() as conn:
        # A counter that lost its row would hand out 000001 again: the number is refused.
        await conn.execute("DELETE FROM invoice_sequences WHERE year = 2026")
        with pytest.raises(asyncpg.UniqueViolationError, match="invoices_number_key"):
            await repo.issue_numbered(
                conn, 2026, [NewInvoice(id=uuid.uuid4(), order_id="ord-b", **fields)]
            )
        # The same order is not an error: the insert does nothing and says so.
        assert (
            await repo.issue_numbered(
                conn, 2026, [NewInvoice(id=uuid.uuid4(), order_id="ord-a", **fields)]
            )
            == {}
        )
    assert await _numbers(invoicing_pool) == {"ord-a": "INV-2026-000001"}


async def test_the_statement_numbers_invoices_as_the_domain_formats_them_past_six_digits(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    # ISSUE_INVOICES writes the numbers in SQL; they are format_invoice_number's, in batch order,
    # and widen past 999,999 instead of wrapping or truncating.
    await invoicing_pool.execute(
        "INSERT INTO invoice_sequences (year, last_number) VALUES (2026, 999998)"
    )
    await apply_batch([make_envelope(make_paid(f"ord-{i}")) for i in range(3)])
    assert await _numbers(invoicing_pool) == {
        f"ord-{i}": format_invoice_number(2026, 999_999 + i) for i in range(3)
    }
    assert [format_invoice_number(2026, 999_999 + i) for i in range(3)] == [
        "INV-2026-999999",
        "INV-2026-1000000",
        "INV-2026-1000001",
    ]
    assert await _last_number(invoicing_pool, 2026) == 1_000_001


async def test_a_duplicate_does_not_queue_behind_the_years_counter(
    invoicing_dsn, invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    await apply_batch([make_envelope(make_paid("ord-a"))])
    holder = await asyncpg.connect(invoicing_dsn)
    try:
        tx = holder.transaction()
        await tx.start()
        await service.issue_invoices(holder, [service.PaidOrder(uuid.uuid4(), make_paid("ord-b"))])
        # The counter row of 2026 is locked by `holder`; a late event of the invoiced order a
        # is recognised before any number is asked for, so it does not wait.
        await asyncio.wait_for(apply_batch([make_envelope(make_paid("ord-a"))]), timeout=2)
        await tx.commit()
    finally:
        await holder.close()
    assert await _numbers(invoicing_pool) == {
        "ord-a": "INV-2026-000001",
        "ord-b": "INV-2026-000002",
    }


async def test_looking_up_invoiced_orders_reads_one_row_per_order_as_the_table_grows(
    invoicing_pool, apply_batch, make_paid, make_envelope
) -> None:
    # A connection that looked orders up while the table held one invoice, as a consumer's
    # does at its first batches, then the table grows to 3,000 before any ANALYZE. A plan
    # kept from those first lookups read every invoice for each later batch.
    await apply_batch([make_envelope(make_paid("ord-0"))])
    orders = ["ord-7", "ord-1200", "ord-2999", "ord-none"]
    async with invoicing_pool.acquire() as conn:
        for _ in range(6):
            assert await repo.invoiced_orders(conn, orders) == set()
        await conn.execute(
            "INSERT INTO invoices (id, number, order_id, user_id, package_id, description,"
            " credits, amount_minor, currency, provider, provider_payment_id, status, paid_at,"
            " issued_at, payment_event_id, ordered_minor, lines)"
            " SELECT gen_random_uuid(), 'T-' || i, 'ord-' || i, user_id, package_id,"
            " description, credits, amount_minor, currency, provider, provider_payment_id,"
            " status, paid_at, issued_at, gen_random_uuid(), ordered_minor, lines"
            " FROM invoices, generate_series(1, 3000) AS i WHERE order_id = 'ord-0'"
        )
        async with conn.transaction():
            before = await seq_rows_read(conn, "invoices")
            assert await repo.invoiced_orders(conn, orders) == set(orders[:3])
            assert await seq_rows_read(conn, "invoices") - before < 100
        # And as a plan made now for any orders would be.
        plan = await explain_analyze(
            conn, repo.INVOICED_ORDERS, orders, plan_cache_mode="force_generic_plan"
        )
        assert rows_read(plan, "invoices") <= len(orders), plan
