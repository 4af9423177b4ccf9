"""Proof under faults: real signed webhooks, a real fault, then exact counts and `paystream verify`.

Each test records its figures (events sent, acknowledged, applied, duplicates, lost, recovery
time) as one JSON line in `.run/faults/report.jsonl`; docs/reliability.md holds a run of them.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import pytest
from faultkit import (
    Deployment,
    Payment,
    WebhookClient,
    finish,
    infra,
    interleave_keeping_user_order,
    make_payments,
    no_loss,
    order_id,
    record,
    send,
    started,
    until,
)

from paystream.shared.topics import dlq

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


async def test_kill_9_of_the_ledger_mid_stream_loses_and_doubles_nothing(
    deployment: Deployment,
) -> None:
    d = await started(deployment)
    payments = make_payments(d.tag, 3000, users=300)
    traffic = send(d, payments, rate=300)

    async def mid_stream() -> bool:
        return len(await d.grants()) >= 600

    await until(mid_stream, 60, "600 grants")
    killed_at = time.monotonic()
    applied_at_kill = len(await d.grants())
    d.kill9("ledger")
    await asyncio.sleep(1.0)  # webhooks keep being acknowledged while the ledger is dead
    d.start("ledger")
    restart_s = await d.ready("ledger")
    backlog = set(traffic.client.delivery.acknowledged)
    await d.wait_applied(backlog, ledger_only=True)
    recovery_s = time.monotonic() - killed_at
    delivery = await traffic.delivered()
    await d.wait_applied(delivery.acknowledged)

    # Events the restarted ledger received again (applied before the kill, offsets not yet
    # committed) and dropped in its inbox: how many depends on where the kill landed. Its grants
    # come from checkout's paid orders (orders.events).
    redelivered = await d.metric(
        "ledger", "paystream_events_consumed_total", topic=d.orders_topic, outcome="duplicate"
    )
    await finish(
        d,
        "kill9_ledger",
        payments,
        delivery,
        redelivered_after_restart=int(redelivered),
        applied_before_kill=applied_at_kill,
        restart_s=round(restart_s, 2),
        recovery_s=round(recovery_s, 2),
    )


async def test_a_kafka_broker_restart_while_webhooks_arrive_loses_no_acknowledged_webhook(
    deployment: Deployment,
) -> None:
    d = await started(deployment)
    payments = make_payments(d.tag, 1000, users=200)
    traffic = send(d, payments, rate=150, retry_s=0.5, timeout_s=240)

    async def some_acknowledged() -> bool:
        return len(traffic.client.delivery.acknowledged) >= 300

    await until(some_acknowledged, 60, "300 acknowledged")
    acked_before = len(traffic.client.delivery.acknowledged)
    fault_at = time.monotonic()
    try:
        stop_s = await infra("stop", "kafka")
        await asyncio.sleep(3.0)  # the broker is away; webhooks keep coming
    finally:
        start_s = await infra("start", "kafka")
    back_at = time.monotonic()
    delivery = await traffic.delivered()
    await d.wait_applied(delivery.acknowledged, timeout_s=240)
    recovery_s = time.monotonic() - back_at
    # Every refusal was a 5xx while the broker was away, and each was retried to a 2xx.
    assert delivery.refused_5xx > 0, "the broker stop was not seen by webhook-ingest"
    assert delivery.acknowledged == {p.order_id for p in payments}

    refusing = (delivery.last_refused_at or 0) - (delivery.first_refused_at or 0)
    await finish(
        d,
        "kafka_restart",
        payments,
        delivery,
        acknowledged_before_fault=acked_before,
        broker_down_s=round(back_at - fault_at, 2),
        broker_stop_s=round(stop_s, 2),
        broker_start_s=round(start_s, 2),
        ingest_refusing_s=round(refusing, 2),
        recovery_s=round(recovery_s, 2),
    )


async def test_a_postgres_restart_under_the_consumers_is_recovered_without_dead_letters(
    deployment: Deployment,
) -> None:
    d = await started(deployment)
    payments = make_payments(d.tag, 1200, users=200)
    traffic = send(d, payments, rate=200)

    async def mid_stream() -> bool:
        return len(await d.grants()) >= 300

    await until(mid_stream, 60, "300 grants")
    # The consumers must have work of their own when the database goes: checkout, which makes
    # the paid orders they act on, shares that database and stops making them. So both are
    # paused while checkout pays a few hundred more orders, and resumed with that backlog
    # once the database is gone.
    consumers = ("ledger", "invoicing")
    before = sum((await d.end_offsets(d.orders_topic)).values())
    d.pause(*consumers)
    try:

        async def backlog_made() -> bool:
            return sum((await d.end_offsets(d.orders_topic)).values()) >= before + 300

        await until(backlog_made, 30, "a backlog of paid orders")
        fault_at = time.monotonic()
        try:
            stop_s = await infra("stop", "postgres")
            d.resume(*consumers)
            await asyncio.sleep(3.0)  # consumers keep failing to reach the database meanwhile
        finally:
            start_s = await infra("start", "postgres")
    finally:
        d.resume(*consumers)  # SIGCONT to a running process does nothing
    back_at = time.monotonic()
    backlog = set(traffic.client.delivery.acknowledged)
    await d.wait_applied(backlog)
    recovery_s = time.monotonic() - back_at
    delivery = await traffic.delivered()
    await d.wait_applied(delivery.acknowledged)
    # A database outage is transient: both consumers waited it out (their retries counted),
    # and nothing was dead-lettered because of it (finish() checks the DLQ is empty).
    transient = {
        service: await d.metric(
            service, "paystream_consumer_retries_total", group=group, kind="transient"
        )
        for service, group in (("ledger", d.ledger_group), ("invoicing", d.invoicing_group))
    }
    assert all(n > 0 for n in transient.values()), transient

    await finish(
        d,
        "postgres_restart",
        payments,
        delivery,
        consumer_retries=transient,
        database_down_s=round(back_at - fault_at, 2),
        postgres_stop_s=round(stop_s, 2),
        postgres_start_s=round(start_s, 2),
        recovery_s=round(recovery_s, 2),
    )


async def test_every_webhook_three_times_out_of_order_across_users_gives_the_state_of_once(
    deployment: Deployment,
) -> None:
    d = await started(deployment)
    payments = make_payments(d.tag, 300, users=30)
    per_user: dict[str, list[Payment]] = {}
    for p in payments:
        per_user.setdefault(p.user_id, []).append(p)
    # Each user's payments three times over, in that user's order; users shuffled together.
    deliveries = interleave_keeping_user_order({u: ps * 3 for u, ps in per_user.items()})
    assert len(deliveries) == 3 * len(payments)
    started_at = time.monotonic()
    delivery = await send(d, deliveries).delivered()
    await d.wait_applied(delivery.acknowledged)
    converged_s = time.monotonic() - started_at
    # Every copy reached the topic: 3 deliveries per payment, each one acknowledged.
    in_topic = sum((await d.end_offsets(d.payments_topic)).values())
    assert in_topic >= 3 * len(payments)

    # "The state of once": per user, the balance is the sum of the user's payments, and the
    # history is a running sum: one grant per payment, each balance_after = previous + credits.
    dump = await d.ledger_dump()
    for user, ps in per_user.items():
        history = dump["history"][user]
        assert sorted(h["order_id"] for h in history) == sorted(p.order_id for p in ps)
        running = 0
        for h in history:
            assert h["kind"] == "grant"
            running += h["credits"]
            assert h["balance_after"] == running
        assert dump["balances"][user] == sum(p.credits for p in ps)
    assert -dump["system"]["system:issuance"] == sum(p.credits for p in payments)
    await finish(
        d,
        "delivered_three_times",
        payments,
        delivery,
        sent=len(deliveries),
        distinct_events=len(payments),
        events_in_topic=in_topic,
        redeliveries_absorbed=in_topic - len(payments),
        recovery_s=round(converged_s, 2),
    )


async def test_a_poison_message_is_dead_lettered_the_partition_flows_and_retry_after_the_fix(
    deployment: Deployment,
) -> None:
    d = await started(deployment)
    # The poison: an operator's fraud guard, added as a constraint, caps a single grant at
    # 100,000 credits; an enterprise purchase of 250,000 is legitimate but refused by the
    # database on every attempt. The real fix is to raise (here: drop) the cap.
    await d.fetch(
        d.ledger_db,
        "ALTER TABLE transactions ADD CONSTRAINT fault_grant_cap"
        " CHECK (kind <> 'grant' OR credits <= 100000)",
    )
    others = make_payments(d.tag, 300, users=30)
    whale = [
        Payment(
            order_id=order_id(d.tag, f"whale-{i}"),
            user_id=f"u-{d.tag}-whale",
            credits=250_000 if i == 4 else 1000,
            amount_minor=2_000_000 if i == 4 else 10000,
            event_id=f"evt_{d.tag}_whale_{i}",
        )
        for i in range(9)
    ]
    poison = whale[4]
    await d.place_orders(whale)
    background = send(d, others, concurrency=8)
    # The whale's events in order, in one partition (key = user id): 4 good, the poison, a
    # message that is not even JSON, 4 good behind them.
    whale_client = WebhookClient(d.harness, concurrency=1)
    for p in whale[:5]:
        await whale_client.deliver([p])
    sent_poison_at = time.monotonic()
    garbage_at = await d.publish_raw(poison.user_id, b"{this is not an event")
    for p in whale[5:]:
        await whale_client.deliver([p])
    await background.delivered()
    all_payments = [*others, *whale]
    acknowledged = background.client.delivery.acknowledged | whale_client.delivery.acknowledged
    healthy = acknowledged - {poison.order_id}
    await d.wait_applied(healthy)

    # Four dead letters: the poison from the ledger, on the dead-letter topic of orders.events
    # (the ledger grants checkout's paid orders), and the unparseable message from each of the
    # three groups reading payments.events (checkout, ledger and invoicing).
    async def four_dead_letters() -> bool:
        return await d.dead_letter_count() == 4

    await until(four_dead_letters, 60, "4 dead letters")
    dead_letter_s = time.monotonic() - sent_poison_at

    dlq_topic = dlq(d.payments_topic)
    listing = await d.cli("dlq", "list", "--topic", dlq_topic)
    assert listing["pending"] == 3, listing
    by_kind = {(r["consumer_group"], r["reason"]): r for r in listing["records"]}
    assert set(by_kind) == {
        (d.checkout_group, "invalid"),
        (d.ledger_group, "invalid"),
        (d.invoicing_group, "invalid"),
    }
    orders_dlq = dlq(d.orders_topic)
    poisoned = await d.cli("dlq", "list", "--topic", orders_dlq)
    assert poisoned["pending"] == 1, poisoned
    [failed] = poisoned["records"]
    assert failed["type"] == "paystream.order.paid.v1"
    assert failed["reason"] == "failed"
    assert failed["attempts"] == 6  # max_retries (5) + 1
    assert "fault_grant_cap" in failed["error"]
    assert failed["consumer_group"] == d.ledger_group
    assert failed["original"]["topic"] == d.orders_topic
    # The whale's key is one partition of every topic (six partitions each, key = user id).
    assert failed["original"]["partition"] == garbage_at[0]
    for group in (d.checkout_group, d.ledger_group, d.invoicing_group):
        invalid = by_kind[(group, "invalid")]
        assert invalid["attempts"] == 1  # not retried: no retry can parse it
        assert invalid["original"] == {
            "topic": d.payments_topic,
            "partition": garbage_at[0],
            "offset": garbage_at[1],
        }
    shown = await d.cli("dlq", "show", "--topic", orders_dlq, "--offset", str(failed["offset"]))
    assert "CheckViolationError" in shown["headers"]["dlq_stack"]
    assert shown["value"]["data"]["order_id"] == poison.order_id
    assert shown["headers"]["dlq_original_offset"] == str(failed["original"]["offset"])
    dead_metric = "paystream_consumer_dead_letters_total"
    assert await d.metric("ledger", dead_metric, group=d.ledger_group, reason="failed") == 1
    assert await d.metric("ledger", dead_metric, group=d.ledger_group, reason="invalid") == 1
    retries = "paystream_consumer_retries_total"
    assert await d.metric("ledger", retries, group=d.ledger_group, kind="failed") == 5
    # The partition flowed: everything behind the poison is applied and committed.
    grants = await d.grants()
    assert all(p.order_id in grants for p in whale[5:])
    lag = await d.cli("lag", "--group", d.ledger_group)
    assert lag["groups"][0]["total_lag"] == 0, lag
    # Until the fix, verify names exactly the missing grant (and exits 1).
    before = await d.cli("verify", expect_rc=1)
    assert before["missing_grants"] == [poison.order_id], before
    assert before["differences"] == 1, before

    # The fix, then the retry.
    await d.fetch(d.ledger_db, "ALTER TABLE transactions DROP CONSTRAINT fault_grant_cap")
    retried_at = time.monotonic()
    retry = await d.cli("dlq", "retry", "--topic", orders_dlq, "--offset", str(failed["offset"]))
    assert [r["offset"] for r in retry["retried"]] == [failed["offset"]]
    await d.wait_applied({poison.order_id})
    recovery_s = time.monotonic() - retried_at
    again = await d.cli("dlq", "retry", "--topic", orders_dlq, "--offset", str(failed["offset"]))
    assert again["retried"] == [], again
    assert again["skipped"], again
    purged = await d.cli("dlq", "purge", "--topic", dlq_topic, "--yes")
    assert purged["purged"] == 3, purged  # the unparseable ones: nothing to fix there

    await asyncio.sleep(1.0)  # a second apply, if any, would have landed by now
    figures = await no_loss(d, all_payments, acknowledged)
    assert len((await d.grants())[poison.order_id]) == 1
    record(
        "poison_message",
        {
            "sent": len(all_payments) + 1,
            "acknowledged": len(acknowledged),
            **figures,
            "dead_lettered": 4,
            "dead_letter_s": round(dead_letter_s, 2),
            "recovery_s": round(recovery_s, 2),
        },
    )


async def _ledger_activity(d: Deployment, payments: list[Payment]) -> dict[str, int]:
    """What a product does with the credits besides buying them: spends, holds captured or left
    to time out, an operator's grants (expiring) and a void, a low-balance threshold, then time
    passes (sandbox clock) so lots expire and holds time out. Returns what each user spent."""
    http, ledger = d.http, d.urls["ledger"]
    users = sorted({p.user_id for p in payments})[:20]
    spent: dict[str, int] = {}

    async def call(method: str, path: str, user: str, **kw: Any) -> dict[str, Any]:
        admin = user == "ops"
        headers = {**d.harness.auth(user, admin=admin), "Idempotency-Key": uuid.uuid4().hex}
        r = await http.request(method, f"{ledger}{path}", headers=headers, **kw)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    for i, user in enumerate(users):
        await call("POST", "/v1/spend", user, json={"credits": 7 + i, "reason": "render"})
        spent[user] = 7 + i
    for i, user in enumerate(users[:6]):
        hold = await call("POST", "/v1/holds", user, json={"credits": 20, "ttl_seconds": 600})
        if i % 2 == 0:
            await call("POST", f"/v1/holds/{hold['hold_id']}/capture", user, json={"credits": 12})
            spent[user] += 12
    for user in users[:5]:
        await call(
            "POST",
            "/v1/admin/grants",
            "ops",
            json={"user_id": user, "credits": 30, "validity": "PT1H", "reason": "welcome back"},
        )
    lots = await call("GET", "/v1/lots", "ops", params={"user_id": users[0]})
    promo = next(x["id"] for x in lots["items"] if x["source"] == "adjustment")
    await call("POST", f"/v1/admin/lots/{promo}/void", "ops", json={"reason": "duplicate"})
    await call("PUT", "/v1/balance-thresholds/credits", users[1], json={"threshold": 10_000})
    # Two hours later: the operator's lots expired, the holds left open timed out.
    await call("POST", "/v1/sandbox/clock/advance", "ops", json={"by": "PT2H"})
    jobs = await call("POST", "/v1/sandbox/jobs/run", "ops")
    # Four operator lots expired (the voided one had nothing left), three holds timed out.
    assert (jobs["lots_expired"], jobs["holds_released"]) == (4, 3), jobs
    return spent


async def test_a_lost_ledger_database_is_restored_identically_from_its_journal(
    deployment: Deployment,
) -> None:
    d = await started(deployment)
    payments = make_payments(d.tag, 800, users=80)
    # Shuffled, so users interleave differently from the order of the payments list.
    random.Random(3).shuffle(payments)
    delivery = await send(d, payments).delivered()
    await d.wait_applied(delivery.acknowledged)
    spent = await _ledger_activity(d, payments)
    await d.outbox_drained()
    before = await d.ledger_dump()
    await d.verify()

    await d.stop("ledger")  # the group must have no members to be rewound
    await d.admin_sql(f'DROP DATABASE "{d.ledger_db}" WITH (FORCE)')
    await d.admin_sql(f'CREATE DATABASE "{d.ledger_db}"')
    restore_started = time.monotonic()
    # 1. The journal: every grant, spend, hold, expiry and operator action, as it was.
    restored = await d.restore_ledger()
    journal_s = time.monotonic() - restore_started
    # 2. What never reached the journal (still in the outbox when the database was lost: here
    # nothing) comes from the paid orders and the refunds; what is restored changes nothing.
    replays = [
        await d.cli("replay", "--topic", topic, "--group", d.ledger_group, "--from-offset", "0")
        for topic in (d.orders_topic, d.payments_topic)
    ]
    assert all(r["applied"] is True for r in replays), replays
    assert replays[0]["redelivered"] >= len(payments), replays
    d.start("ledger")  # consumes from the rewound offsets
    await d.ready("ledger")
    await d.wait_applied(delivery.acknowledged, ledger_only=True)

    async def replayed() -> bool:
        lag = await d.cli("lag", "--group", d.ledger_group)
        return bool(lag["groups"][0]["total_lag"] == 0)

    await until(replayed, 120, "the replay consumed")
    recovery_s = time.monotonic() - restore_started
    after = await d.ledger_dump()

    # Balances, lots and history come back identical: the same ids, times and balances.
    for table in before:
        assert after[table] == before[table], table
    figures = await no_loss(d, payments, delivery.acknowledged, spent)
    record(
        "restore_lost_ledger_db",
        {
            **delivery.as_dict(),
            **figures,
            **restored,
            "replayed": sum(r["redelivered"] for r in replays),
            "journal_s": round(journal_s, 2),
            "recovery_s": round(recovery_s, 2),
        },
    )
