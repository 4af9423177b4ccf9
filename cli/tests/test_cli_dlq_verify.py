"""dlq list/show/retry/purge on dead letters made by the real BatchConsumer; verify on databases
filled by ledger's and invoicing's own handlers; reprocess-raw over a raw topic."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from paystream.checkout.settings import CheckoutSettings
from paystream.devtools.orders import order_paid
from paystream.invoicing.consumers import handle_payment_events as invoice_payments
from paystream.invoicing.settings import InvoicingSettings
from paystream.ledger.consumers import ledger_handler
from paystream.ledger.settings import LedgerSettings
from paystream.shared.clock import SystemClock
from paystream.shared.db import INBOX_DDL
from paystream.shared.events import (
    Envelope,
    OrderPaidV1,
    PaymentSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
)
from paystream.shared.kafka import BatchConsumer, BatchHandler, Consumed, create_producer, publish
from paystream.shared.topics import dlq

pytestmark = pytest.mark.integration

MakeTopics = Callable[..., Awaitable[None]]
RunConsumer = Callable[..., contextlib.AbstractAsyncContextManager[BatchConsumer]]
FreshDatabase = Callable[..., Awaitable[str]]


def oid(name: str) -> str:
    """A checkout order id (a UUID) with a readable name behind it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"paystream-cli-test/{name}"))


async def _paid_order(pool: asyncpg.Pool, order_id: str, user_id: str, *, credits: int) -> None:
    """An order as checkout holds it once paid: what it grants, what was paid (1000 CNY)."""
    await pool.execute(
        """
        INSERT INTO orders (id, user_id, package_id, credits, amount_minor, currency,
            payment_method, status, expires_at, paid_amount_minor, paid_currency, paid_at,
            grants, lines)
        VALUES ($1, $2, 'standard', greatest($3, 1), 1000, 'CNY', 'stripe_checkout', 'paid',
            now(), 1000, 'CNY', now(), $4, '[]')
        """,
        uuid.UUID(order_id),
        user_id,
        credits,
        [{"unit": "credits", "quantity": credits, "cost_minor": 1000}] if credits else [],
    )


def _payment(order_id: str, user_id: str, credits: int = 100, event: str | None = None) -> Envelope:
    return Envelope.wrap(
        order_paid(
            order_id,
            user_id,
            credits=credits,
            amount_minor=1000,
            provider_event_id=event or f"evt_{uuid.uuid4().hex}",
        ),
        source="cli-test",
    )


def _by_user(envs: list[Envelope]) -> list[tuple[str, Envelope]]:
    """Records keyed by the payment's user, as webhook-ingest keys them."""
    return [(env.data["user_id"], env) for env in envs]


async def _consume(
    run_consumer: RunConsumer,
    pool: asyncpg.Pool,
    topic: str,
    group: str,
    handler: BatchHandler,
    until: Callable[[BatchConsumer], bool],
) -> BatchConsumer:
    async with run_consumer(
        service="cli-test",
        topics=[topic],
        group_id=group,
        pool=pool,
        handler=handler,
        max_retries=0,
        retry_base_s=0.01,
        retry_max_s=0.05,
    ) as consumer:
        async with asyncio.timeout(60):
            while not until(consumer):
                await asyncio.sleep(0.05)
                assert consumer.failure is None, consumer.failure
    return consumer


async def _read_all(bootstrap: str, topic: str) -> list[Any]:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await c.start()
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        end = (await c.end_offsets([tp]))[tp]
        c.seek(tp, 0)
        out: list[Any] = []
        while len(out) < end:
            batch = await c.getmany(tp, timeout_ms=500)
            out += batch.get(tp, [])
        return out
    finally:
        await c.stop()


async def test_cli_dlq_round_trip(
    cli,
    kafka_bootstrap: str,
    make_topics: MakeTopics,
    fresh_database: FreshDatabase,
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
    run_consumer: RunConsumer,
    send_records: Callable[..., Awaitable[None]],
    unique_suffix: str,
) -> None:
    topic = f"cli.dlqsrc.{unique_suffix}"
    dead = dlq(topic)
    await make_topics(topic, dead, partitions=1)
    pool = await pool_for(await fresh_database("cli_dlq"))
    await pool.execute(INBOX_DDL)

    async def handler(conn: Any, items: list[Consumed]) -> None:
        for c in items:
            if c.envelope.data["order_id"].startswith("poison"):
                raise RuntimeError(f"boom {c.envelope.data['order_id']}")

    envs = [
        _payment("good-1", "u1"),
        _payment("poison-1", "u1"),
        _payment("good-2", "u1"),
        _payment("poison-2", "u1"),
    ]
    await send_records(topic, *_by_user(envs))
    await _consume(
        run_consumer,
        pool,
        topic,
        f"cli-dlq-{unique_suffix}",
        handler,
        lambda c: c.dead_lettered == 2 and c.applied == 2,
    )
    env = {"PAYSTREAM_CLI_GROUP": f"paystream-cli-{unique_suffix}"}

    code, listed = await cli("dlq", "list", "--topic", dead, env=env)
    assert code == 0, listed
    assert listed["pending"] == 2
    assert listed["total"] == 2
    first, second = listed["records"]
    assert (first["offset"], first["key"], first["status"]) == (0, "u1", "pending")
    assert first["type"] == OrderPaidV1.TYPE
    assert first["event_id"] == str(envs[1].id)
    assert "boom poison-1" in first["error"]
    assert first["attempts"] == 1
    assert first["original"] == {"topic": topic, "partition": 0, "offset": 1}
    assert first["consumer_group"] == f"cli-dlq-{unique_suffix}"
    assert second["original"]["offset"] == 3

    code, shown = await cli("dlq", "show", "--topic", dead, "--offset", "1", env=env)
    assert code == 0
    assert "RuntimeError" in shown["headers"]["dlq_stack"]
    assert shown["value"]["data"]["order_id"] == "poison-2"
    code, out = await cli("dlq", "show", "--topic", dead, "--offset", "9", env=env)
    assert code == 5
    assert out["error"]["code"] == "not_found"

    # Retry needs a credential.
    code, out = await cli("dlq", "retry", "--topic", dead, "--offset", "1", env=env)
    assert code == 4
    assert out["error"]["code"] == "refused"

    # Retry the second one: back on the original topic with its key, value and a retry mark.
    code, retried = await cli(
        "dlq", "retry", "--topic", dead, "--offset", "1", "--local-operator", env=env
    )
    assert code == 0, retried
    [r] = retried["retried"]
    assert (r["offset"], r["to_topic"], r["to_offset"]) == (1, topic, 4)
    records = await _read_all(kafka_bootstrap, topic)
    again = records[4]
    assert again.key == b"u1"
    assert Envelope.from_bytes(again.value).id == envs[3].id
    headers = dict(again.headers)
    assert headers["paystream_dlq_retry_of"] == f"{dead}:0:1".encode()
    assert not any(k.startswith("dlq_") for k in headers)

    code, listed = await cli("dlq", "list", "--topic", dead, env=env)
    assert [x["offset"] for x in listed["records"]] == [0]
    code, listed = await cli("dlq", "list", "--topic", dead, "--all", env=env)
    assert [(x["offset"], x["status"]) for x in listed["records"]] == [
        (0, "pending"),
        (1, "handled"),
    ]
    # Retrying it again is skipped: it was handled.
    code, out = await cli(
        "dlq", "retry", "--topic", dead, "--offset", "1", "--local-operator", env=env
    )
    assert out["retried"] == []
    assert out["skipped"][0]["reason"] == "already handled"

    # Purge asks first; "no" refuses and changes nothing.
    code, out = await cli("dlq", "purge", "--topic", dead, "--local-operator", input="n\n", env=env)
    assert code == 4
    assert out["error"]["code"] == "refused"
    code, listed = await cli("dlq", "list", "--topic", dead, env=env)
    assert listed["pending"] == 1
    code, out = await cli("dlq", "purge", "--topic", dead, "--local-operator", "--yes", env=env)
    assert code == 0
    assert out["purged"] == 1
    assert out["committed"] == {"0": 2}
    code, listed = await cli("dlq", "list", "--topic", dead, env=env)
    assert listed["pending"] == 0
    assert listed["records"] == []
    assert listed["total"] == 2


async def test_cli_verify_reconciles_and_finds_differences(
    cli,
    kafka_bootstrap: str,
    make_topics: MakeTopics,
    fresh_database: FreshDatabase,
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
    run_consumer: RunConsumer,
    send_records: Callable[..., Awaitable[None]],
    unique_suffix: str,
) -> None:
    topic = f"cli.payments.{unique_suffix}"
    await make_topics(topic, dlq(topic), partitions=2)
    ledger_dsn = await fresh_database("cli_ledger", LedgerSettings().migrations_dir)
    invoicing_dsn = await fresh_database("cli_invoicing", InvoicingSettings().migrations_dir)
    checkout_dsn = await fresh_database("cli_checkout", CheckoutSettings().migrations_dir)
    ledger, invoicing = await pool_for(ledger_dsn), await pool_for(invoicing_dsn)
    checkout = await pool_for(checkout_dsn)

    envs = [_payment(oid(f"o-{i}"), f"user-{i % 3}") for i in range(8)]
    envs.append(_payment(oid("o-free"), "user-0", credits=0))  # invoiced, nothing to grant
    # One payment announced twice (two provider events for one order).
    envs.append(_payment(oid("o-1"), "user-1", event="evt_second_announcement"))
    # Checkout holds each of those orders as paid, with the credits it grants.
    for i in range(8):
        await _paid_order(checkout, oid(f"o-{i}"), f"user-{i % 3}", credits=100)
    await _paid_order(checkout, oid("o-free"), "user-0", credits=0)
    await send_records(topic, *_by_user(envs))
    n = len(envs)
    await _consume(
        run_consumer,
        ledger,
        topic,
        f"cli-ledger-{unique_suffix}",
        ledger_handler(SystemClock),
        lambda c: c.applied + c.duplicates == n,
    )
    await _consume(
        run_consumer,
        invoicing,
        topic,
        f"cli-invoicing-{unique_suffix}",
        invoice_payments,
        lambda c: c.applied + c.duplicates == n,
    )
    args = (
        "verify",
        "--topic",
        topic,
        "--ledger-db",
        ledger_dsn,
        "--invoicing-db",
        invoicing_dsn,
        "--checkout-db",
        checkout_dsn,
    )

    code, out = await cli(*args)
    assert code == 0, out
    assert out["ok"] is True
    assert out["differences"] == 0
    assert (out["payment_events"], out["payments"], out["payments_with_credits"]) == (10, 9, 8)
    assert (out["grants"], out["lots"], out["invoices"]) == (8, 8, 9)
    # The services' refund tables are found (issue 3's migrations): nothing refunded, nothing due.
    assert out["refunds"]["refunds"] == 0
    assert out["refunds"]["missing_takebacks"] == []

    # A payment nobody applied: a missing grant and a missing invoice.
    await _paid_order(checkout, oid("o-lost"), "user-2", credits=100)
    await send_records(topic, *_by_user([_payment(oid("o-lost"), "user-2")]))
    code, out = await cli(*args)
    assert code == 1
    assert out["ok"] is False
    assert out["missing_grants"] == [oid("o-lost")]
    assert out["missing_invoices"] == [oid("o-lost")]
    assert out["differences"] == 2

    # The order is the authority: an order.paid event that says more than the order (999,999
    # credits on a 100-credit order), and an order checkout holds as paid with no event, are
    # anomalies; so is a grant for an order checkout does not know.
    await checkout.execute(
        "UPDATE orders SET grants = jsonb_set(grants, '{0,quantity}', '7') WHERE id = $1",
        uuid.UUID(oid("o-5")),
    )
    await _paid_order(checkout, oid("o-unannounced"), "user-1", credits=100)
    code, out = await cli(*args)
    assert code == 1
    assert out["order_anomalies"] == sorted(
        [
            {"order_id": oid("o-5"), "anomaly": "credits differ", "order": 7, "granted": 100},
            {
                "order_id": oid("o-unannounced"),
                "anomaly": "paid in checkout, but no order.paid event",
            },
        ],
        key=lambda a: (a["anomaly"].startswith("paid in checkout"), a["order_id"]),
    )
    await checkout.execute(
        "UPDATE orders SET grants = jsonb_set(grants, '{0,quantity}', '100') WHERE id = $1",
        uuid.UUID(oid("o-5")),
    )
    await checkout.execute("DELETE FROM orders WHERE id = $1", uuid.UUID(oid("o-unannounced")))

    # A second lot for an order line (the unique index dropped to let the fault in), granted
    # in double entry so only the duplicate shows.
    await ledger.execute("DROP INDEX lots_order_line_key")
    async with ledger.acquire() as conn, conn.transaction():
        tx, lot = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO transactions (id, kind, user_id, unit, order_id, event_id, reason,"
            " credits, balance_after, paid_minor, paid_currency)"
            " VALUES ($1, 'grant', 'user-0', 'credits', $3, $2, 'x', 100, 100, 1000, 'CNY')",
            tx,
            uuid.uuid4(),
            oid("o-0"),
        )
        await conn.execute(
            "INSERT INTO lots (id, user_id, unit, source, credits, remaining, effective_at,"
            " validity_rule, order_id, order_line, transaction_id, created_at)"
            " VALUES ($1, 'user-0', 'credits', 'purchase', 100, 100, now(), 'none', $3, 0,"
            " $2, now())",
            lot,
            tx,
            oid("o-0"),
        )
        await conn.execute(
            "INSERT INTO postings (transaction_id, account_id, amount) VALUES"
            " ($1, 'user:user-0', 100), ($1, 'system:issuance', -100)",
            tx,
        )
    code, out = await cli(*args)
    assert code == 1
    assert out["duplicate_grants"] == [{"order_id": oid("o-0"), "count": 2}]
    assert out["balance_mismatches"] == []
    assert out["lot_mismatches"] == []
    assert out["unbalanced_transactions"] == []

    # A tampered lot: its cache no longer follows its entries, nor its owner's postings.
    tampered = await ledger.fetchval("SELECT id FROM lots WHERE order_id = $1", oid("o-2"))
    await ledger.execute("UPDATE lots SET remaining = remaining - 7 WHERE id = $1", tampered)
    code, out = await cli(*args)
    assert code == 1
    [mismatch] = out["lot_mismatches"]
    assert mismatch["lot_id"] == str(tampered)
    assert mismatch["expected_remaining"] - mismatch["remaining"] == 7
    [mismatch] = out["balance_mismatches"]
    assert (mismatch["account_id"], mismatch["unit"]) == ("user:user-2", "credits")
    assert mismatch["postings_sum"] - mismatch["balance"] == 7

    # A transaction whose postings do not sum to zero (the trigger switched off to let it in).
    async with ledger.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE postings DISABLE TRIGGER postings_checked")
        bad = await conn.fetchval(
            "SELECT id FROM transactions WHERE order_id = $1 AND kind = 'grant'", oid("o-3")
        )
        await conn.execute(
            "INSERT INTO postings (transaction_id, account_id, amount)"
            " VALUES ($1, 'user:user-1', 5)",
            bad,
        )
        await conn.execute("ALTER TABLE postings ENABLE TRIGGER postings_checked")
    code, out = await cli(*args)
    assert code == 1
    assert out["unbalanced_transactions"] == [{"transaction_id": str(bad), "sum": 5}]
    assert {m["account_id"] for m in out["balance_mismatches"]} == {"user:user-1", "user:user-2"}

    # A spend of a lot after its expiry (written around the ledger: it never would).
    expired = await ledger.fetchval("SELECT id FROM lots WHERE order_id = $1", oid("o-4"))
    async with ledger.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE lots SET expires_at = effective_at + interval '1 second' WHERE id = $1",
            expired,
        )
        spend = uuid.uuid4()
        await conn.execute(
            "INSERT INTO transactions (id, kind, user_id, unit, reason, credits, balance_after,"
            " idempotency_key, request_hash) VALUES ($1, 'spend', 'user-1', 'credits', 'late',"
            " 1, 0, 'late', 'h')",
            spend,
        )
        await conn.execute(
            "INSERT INTO lot_entries (transaction_id, lot_id, kind, delta, held_delta, at)"
            " SELECT $1, id, 'spend', -1, 0, expires_at + interval '1 day' FROM lots"
            " WHERE id = $2",
            spend,
            expired,
        )
        await conn.execute("UPDATE lots SET remaining = remaining - 1 WHERE id = $1", expired)
        await conn.execute(
            "INSERT INTO postings (transaction_id, account_id, amount) VALUES"
            " ($1, 'user:user-1', -1), ($1, 'system:consumption', 1)",
            spend,
        )
    code, out = await cli(*args)
    assert code == 1
    [late] = out["consumed_after_expiry"]
    assert (late["lot_id"], late["transaction_id"], late["kind"]) == (
        str(expired),
        str(spend),
        "spend",
    )

    # An invoice for an order no payment announced.
    await invoicing.execute(
        "INSERT INTO invoices (id, number, order_id, user_id, description, credits, amount_minor,"
        " currency, provider, status, paid_at, issued_at, payment_event_id, ordered_minor, lines)"
        " VALUES ($1, 'INV-X-1', 'o-ghost', 'user-9', 'x', 1, 1, 'CNY', 'stripe', 'paid', now(),"
        " now(), $2, 1, '[]')",
        uuid.uuid4(),
        uuid.uuid4(),
    )
    code, out = await cli(*args)
    assert out["unexpected_invoices"] == ["o-ghost"]

    # A refund left waiting beside the grant and the invoice its order has (what two processes
    # applying them at once would leave, before the services' sweeps settle it).
    await ledger.execute(
        "INSERT INTO refunds (id, refund_key, event_id, order_id, user_id, provider,"
        " provider_refund_id, amount_minor, currency, refunded_at, status)"
        " VALUES ($1, 'stripe:re_wait', $2, $3, 'user-0', 'stripe', 're_wait', 100, 'CNY',"
        " now(), 'pending')",
        uuid.uuid4(),
        uuid.uuid4(),
        oid("o-6"),
    )
    await invoicing.execute(
        "INSERT INTO refunds (refund_key, event_id, order_id, user_id, provider,"
        " provider_refund_id, amount_minor, currency, refunded_at)"
        " VALUES ('stripe:re_wait', $1, $2, 'user-0', 'stripe', 're_wait', 100, 'CNY', now())",
        uuid.uuid4(),
        oid("o-6"),
    )
    code, out = await cli(*args)
    assert code == 1
    waiting = [{"refund_key": "stripe:re_wait", "order_id": oid("o-6")}]
    assert out["refunds_waiting_beside_grants"] == waiting
    assert out["refunds_waiting_beside_invoices"] == waiting


async def test_cli_reprocess_raw_republishes_normalized_events(
    cli, kafka_bootstrap: str, make_topics: MakeTopics, unique_suffix: str
) -> None:
    raw_topic, target = f"cli.raw.{unique_suffix}", f"cli.normalized.{unique_suffix}"
    await make_topics(raw_topic, target, partitions=1)
    now = datetime.now(UTC)
    paid = {
        "id": f"evt_{unique_suffix}",
        "type": "payment_intent.succeeded",
        "created": int(now.timestamp()),
        "data": {
            "object": {
                "id": "pi_1",
                "amount_received": 1000,
                "currency": "cny",
                "metadata": {"order_id": "o-1", "user_id": "u-1", "credits": "100"},
            }
        },
    }
    unhandled = {"id": "evt_other", "type": "customer.created", "data": {"object": {}}}

    def raw(provider: str, event_id: str, body: dict[str, Any]) -> Envelope:
        return Envelope.wrap(
            WebhookReceivedV1(
                provider=provider,  # type: ignore[arg-type]
                provider_event_id=event_id,
                provider_event_type=str(body.get("type")),
                content_type="application/json",
                body=orjson.dumps(body).decode(),
                received_at=now,
            ),
            source="cli-test",
        )

    p = create_producer(kafka_bootstrap, "cli-test")
    await p.start()
    try:
        for env in (
            raw("stripe", paid["id"], paid),
            raw("stripe", "evt_other", unhandled),
            raw("usdt_trc20", "tx_1", {"type": "transfer"}),
        ):
            await publish(p, raw_topic, "k", env)
        await p.send_and_wait(raw_topic, b"not json", key=b"k")
    finally:
        await p.stop()
    args = ("reprocess-raw", "--from", "1h", "--source-topic", raw_topic, "--target-topic", target)

    code, out = await cli(*args)
    assert code == 4
    assert out["error"]["code"] == "refused"
    code, dry = await cli(*args, "--dry-run")
    assert dry["would_publish"] == 1
    assert dry["published"] == 0

    for _ in range(2):  # twice: the same event, same id, each time
        code, out = await cli(*args, "--local-operator", "--quiet")
        assert code == 1, out  # the unreadable record is reported and fails the run
        assert (out["read"], out["published"], out["ignored"]) == (4, 1, 1)
        assert out["no_normalizer"] == 1
        assert out["failed"] == 1
        assert out["by_provider"]["usdt_trc20"]["no_normalizer"] == 1
        assert out["by_provider"]["stripe"] == {
            "read": 2,
            "published": 1,
            "ignored": 1,
            "no_normalizer": 0,
            "failed": 0,
        }
        assert out["errors"][0]["offset"] == 3

    published = await _read_all(kafka_bootstrap, target)
    assert len(published) == 2
    expected_id = deterministic_id("stripe", paid["id"], "payment")
    for rec in published:
        env = Envelope.from_bytes(rec.value)
        assert env.id == expected_id
        assert rec.key == b"u-1"
        assert env.payload_as(PaymentSucceededV1).order_id == "o-1"
