"""payments.events -> order status, through real Kafka; orders.events out through the relay."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from paystream.checkout.consumers import payment_events_handler
from paystream.checkout.metrics import PAYMENT_OUTCOMES
from paystream.checkout.orders import service
from paystream.checkout.second_payments.domain import SecondPaymentPolicy
from paystream.devtools.records import consumed
from paystream.shared import outbox
from paystream.shared.db import Connection
from paystream.shared.events import (
    Envelope,
    EventData,
    PaymentFailedV1,
    PaymentSucceededV1,
    order_paid_event_id,
)

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def succeeded(order: dict[str, Any], user: str, **over: Any) -> Envelope:
    fields: dict[str, Any] = {
        "order_id": order["order_id"],
        "user_id": user,
        "package_id": order["package_id"],
        "credits": order["credits"],
        "amount_minor": int(order["amount"]["value"].replace(".", "")),
        "currency": order["amount"]["currency"],
        "provider": "stripe",
        "provider_event_id": f"evt_{uuid.uuid4().hex}",
        "provider_payment_id": "pi_first",
        "provider_session_id": order["provider_session_id"],
        "paid_at": datetime(2025, 6, 1, 12, 0, tzinfo=UTC),
    }
    fields.update(over)
    return Envelope.wrap(PaymentSucceededV1(**fields), source="test", subject=fields["order_id"])


def failed(order_id: str, user: str) -> Envelope:
    return Envelope.wrap(
        PaymentFailedV1(
            order_id=order_id,
            user_id=user,
            provider="stripe",
            provider_event_id=f"evt_{uuid.uuid4().hex}",
            reason="card_declined",
            failed_at=datetime.now(UTC),
        ),
        source="test",
        subject=order_id,
    )


async def _inbox_has(c: CheckoutUnderTest, *events: Envelope) -> bool:
    async with c.pool.acquire() as conn:
        n = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])", [e.id for e in events]
        )
    return bool(n == len(events))


async def _status(c: CheckoutUnderTest, user: str, order_id: str) -> dict[str, Any]:
    r = await c.order(user, order_id)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _history(c: CheckoutUnderTest, order_id: str) -> list[tuple[str | None, str]]:
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT old_status, new_status FROM order_status_changes WHERE order_id = $1"
            " ORDER BY id",
            uuid.UUID(order_id),
        )
    return [(r["old_status"], r["new_status"]) for r in rows]


async def test_payment_succeeded_pays_the_order_once(checkout: CheckoutUnderTest) -> None:
    c, user = checkout, _user()
    order = (await c.create_order(user, "standard")).json()
    event = succeeded(order, user)
    await c.publish_payment(event, user)

    async def paid() -> bool:
        return (await _status(c, user, order["order_id"]))["status"] == "paid"

    await c.eventually(paid, what="order paid")
    got = await _status(c, user, order["order_id"])
    assert got["paid_at"] == "2025-06-01T12:00:00Z"
    assert got["amount_mismatch"] is False

    # The same event again (redelivery), and Stripe's second event about the same payment.
    same_payment = succeeded(order, user, paid_at=datetime(2025, 6, 1, 12, 5, tzinfo=UTC))
    await c.publish_payment(event, user)
    await c.publish_payment(same_payment, user)
    # A late failure of an earlier attempt never un-pays.
    late_failure = failed(order["order_id"], user)
    await c.publish_payment(late_failure, user)
    await c.eventually(lambda: _inbox_has(c, same_payment, late_failure), what="events consumed")

    got = await _status(c, user, order["order_id"])
    assert got["status"] == "paid"
    assert got["paid_at"] == "2025-06-01T12:00:00Z", "first facts win"
    assert await _history(c, order["order_id"]) == [(None, "pending"), ("pending", "paid")]
    async with c.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT provider_payment_id, paid_amount_minor, paid_currency FROM orders"
            " WHERE id = $1",
            uuid.UUID(order["order_id"]),
        )
    assert tuple(row) == ("pi_first", 10000, "CNY")


async def test_failure_then_success_on_the_same_session(checkout: CheckoutUnderTest) -> None:
    c, user = checkout, _user()
    order = (await c.create_order(user, "trial")).json()
    declined = failed(order["order_id"], user)
    await c.publish_payment(declined, user)
    await c.eventually(lambda: _inbox_has(c, declined), what="failure consumed")
    failed_order = await _status(c, user, order["order_id"])
    assert failed_order["status"] == "failed"
    # Why, as the provider said it: the page completing a recharge shows it (web /cards/recharge).
    assert failed_order["failure_reason"] == "card_declined"

    # The customer retried another card on the same page: money taken, the order is paid.
    await c.publish_payment(succeeded(order, user), user)

    async def paid() -> bool:
        return (await _status(c, user, order["order_id"]))["status"] == "paid"

    await c.eventually(paid, what="order paid after failure")
    assert await _history(c, order["order_id"]) == [
        (None, "pending"),
        ("pending", "failed"),
        ("failed", "paid"),
    ]


async def test_an_amount_mismatch_is_held_for_review_and_grants_nothing(
    checkout: CheckoutUnderTest,
) -> None:
    # Until issue 10 a mismatched amount was paid and flagged, and so granted in full: the order
    # is the authority now, so the payment waits for an operator and nothing is granted.
    c, user = checkout, _user()
    order = (await c.create_order(user, "premium")).json()
    await c.publish_payment(succeeded(order, user, amount_minor=1, currency="cny"), user)

    async def held() -> dict[str, Any] | None:
        o = await _status(c, user, order["order_id"])
        return o if o["status"] == "needs_review" else None

    o = await c.eventually(held, what="mismatched order held")
    assert o["amount_mismatch"] is True
    assert o["amount"] == {"value": "1000.00", "currency": "CNY"}
    async with c.pool.acquire() as conn:
        review = await conn.fetchrow(
            "SELECT reasons, blocking, status, amount_minor, currency FROM payment_reviews"
            " WHERE order_id = $1",
            uuid.UUID(order["order_id"]),
        )
        granted = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE headers->>'ce_type' = 'paystream.order.paid.v1'"
        )
    assert review is not None
    assert dict(review) == {
        "reasons": ["amount_mismatch"],
        "blocking": True,
        "status": "open",
        "amount_minor": 1,
        "currency": "CNY",
    }
    assert granted == 0
    events = await c.orders_events(expect=3, timeout_s=3)
    assert "paystream.order.paid.v1" not in [e.type for e in events]


async def test_unknown_orders_are_skipped_and_the_partition_moves_on(
    checkout: CheckoutUnderTest,
) -> None:
    c, user = checkout, _user()
    ghost = {
        "order_id": str(uuid.uuid4()),
        "package_id": "standard",
        "credits": 1100,
        "amount": {"value": "100.00", "currency": "CNY"},
        "provider_session_id": None,
    }
    not_a_uuid = dict(ghost, order_id="order-from-elsewhere")
    unknown = [
        succeeded(ghost, user),
        succeeded(not_a_uuid, user),
        failed(ghost["order_id"], user),
    ]
    for env in unknown:
        await c.publish_payment(env, user)
    # An event type checkout does not handle is ignored, not dead-lettered.
    other = Envelope(
        id=uuid.uuid4(),
        source="test",
        type="paystream.payment.refunded.v9",
        time=datetime.now(UTC),
        data={"order_id": ghost["order_id"]},
    )
    await c.publish_payment(other, user)
    # Same user, same partition, published after them: once it is applied, they were handled.
    order = (await c.create_order(user, "trial")).json()
    sentinel = succeeded(order, user)
    await c.publish_payment(sentinel, user)

    async def paid() -> bool:
        return (await _status(c, user, order["order_id"]))["status"] == "paid"

    await c.eventually(paid, what="sentinel paid")
    assert await _inbox_has(c, *unknown, other)
    async with c.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM orders") == 1
        # Money for an order checkout never issued grants nothing and is listed for review.
        reviews = await conn.fetch(
            "SELECT order_id, reasons, blocking FROM payment_reviews ORDER BY created_at"
        )
    # Both notifications name the same provider payment: one review.
    assert [(r["order_id"], r["reasons"], r["blocking"]) for r in reviews] == [
        (None, ["unknown_order"], False),
    ]


async def test_status_changes_reach_orders_events_through_the_outbox(
    checkout: CheckoutUnderTest,
) -> None:
    c, user = checkout, _user()
    order = (await c.create_order(user, "value")).json()
    await c.publish_payment(succeeded(order, user), user)
    events = await c.orders_events(expect=3)
    assert [e.type for e in events] == [
        "paystream.order.created.v1",
        "paystream.order.status_changed.v1",
        "paystream.order.paid.v1",
    ]
    created, changed, paid = events
    assert created.data == {
        "order_id": order["order_id"],
        "user_id": user,
        "package_id": "value",
        "credits": 6000,
        "amount_minor": 50000,
        "currency": "CNY",
        "payment_method": "stripe_checkout",
        "provider_session_id": None,
        "created_at": created.data["created_at"],
    }
    assert created.source == "paystream/checkout"
    assert created.subject == order["order_id"]
    assert {k: changed.data[k] for k in ("order_id", "user_id", "old_status", "new_status")} == {
        "order_id": order["order_id"],
        "user_id": user,
        "old_status": "pending",
        "new_status": "paid",
    }
    # What the payment grants and costs, by the order's own facts.
    assert paid.id == order_paid_event_id(order["order_id"])
    assert {k: paid.data[k] for k in ("grants", "lines", "amount_minor", "paid_minor")} == {
        "grants": [
            {
                "unit": "credits",
                "quantity": 6000,
                "source": "purchase",
                "validity": "P6M",
                "expires_at": None,
                "priority": 50,
                "cost_minor": 50000,
            }
        ],
        "lines": [
            {
                "description": "value — 6,000 credits",
                "quantity": 1,
                "unit_amount_minor": 50000,
                "amount_minor": 50000,
            }
        ],
        "amount_minor": 50000,
        "paid_minor": 50000,
    }
    assert (paid.data["review"], paid.data["payment_method"]) == ("matched", "stripe_checkout")

    async def outbox_empty() -> bool:
        async with c.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM outbox") == 0)

    await c.eventually(outbox_empty, what="outbox drained")


async def test_overdue_pending_orders_expire_and_a_late_payment_still_counts(
    checkout: CheckoutUnderTest,
) -> None:
    c, user = checkout, _user()
    old = (await c.create_order(user, "trial")).json()
    fresh = (await c.create_order(user, "trial")).json()
    async with c.pool.acquire() as conn:
        await conn.execute(
            "UPDATE orders SET expires_at = now() - interval '10 minutes' WHERE id = $1",
            uuid.UUID(old["order_id"]),
        )
    now = datetime.now(UTC)
    async with c.pool.acquire() as conn, conn.transaction():
        # Still within the grace period: nothing expires yet.
        expired = await service.expire_overdue_orders(conn, now=now, grace=timedelta(minutes=15))
        assert expired == []
    async with c.pool.acquire() as conn, conn.transaction():
        expired = await service.expire_overdue_orders(
            conn,
            now=now,
            grace=timedelta(minutes=5),
        )
    assert [o.id for o in expired] == [old["order_id"]]
    assert (await _status(c, user, old["order_id"]))["status"] == "expired"
    assert (await _status(c, user, fresh["order_id"]))["status"] == "pending"

    await c.publish_payment(succeeded(old, user), user)

    async def paid() -> bool:
        return (await _status(c, user, old["order_id"]))["status"] == "paid"

    await c.eventually(paid, what="expired order paid")
    assert await _history(c, old["order_id"]) == [
        (None, "pending"),
        ("pending", "expired"),
        ("expired", "paid"),
    ]


# ---- a batch applied set-based equals its events applied one by one -------------------------
# The consumer locks and pays a batch's plain payments (pending package orders paid as ordered)
# together and sends everything else through `apply_payment_succeeded` one event at a time. One
# batch mixing both is applied each way on the real database, each inside a transaction that is
# then rolled back, and the rows, outbox events and payment metrics they leave are compared.

# Values that differ between two runs of the same effects: the moment of a move, and the
# random ids of rows and of OrderStatusChangedV1 events.
_VOLATILE = frozenset({"id", "created_at", "updated_at", "changed_at", "time"})
_TABLES = ("orders", "order_status_changes", "payment_reviews", "second_payments", "refunds")


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


async def _effects(conn: Connection, outbox_after: int) -> dict[str, Any]:
    """What the batch left: every row of the tables it writes (in insertion order where the
    table has one), and the outbox rows after `outbox_after`, envelopes parsed."""
    got: dict[str, Any] = {}
    for table in _TABLES:
        rows = await conn.fetch(f"SELECT to_jsonb(t) AS row FROM {table} t")
        parsed = [json.loads(r["row"]) if isinstance(r["row"], str) else r["row"] for r in rows]
        if table == "order_status_changes":
            parsed.sort(key=lambda r: r["id"])
            got[table] = [_stable(r) for r in parsed]
        else:
            got[table] = sorted((_stable(r) for r in parsed), key=lambda r: json.dumps(r))
    rows = await conn.fetch(
        "SELECT topic, key, payload, headers FROM outbox WHERE id > $1 ORDER BY id", outbox_after
    )
    got["outbox"] = [
        {
            "topic": r["topic"],
            "key": r["key"],
            "envelope": _stable(json.loads(r["payload"])),
            # Trace context is per batch; the rest of the headers must agree.
            "headers": {
                k: v
                for k, v in (r["headers"] or {}).items()
                if k not in ("traceparent", "tracestate", "ce_id", "ce_time")
            },
        }
        for r in rows
    ]
    return got


def _outcomes() -> dict[tuple[str, str], float]:
    return {
        (s.labels["method"], s.labels["outcome"]): s.value
        for metric in PAYMENT_OUTCOMES.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }


def _delta(before: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    after = _outcomes()
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


async def test_a_mixed_batch_applied_set_based_equals_one_by_one(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    users = {name: _user() for name in "ABCDEFGHI"}
    orders = {name: (await c.create_order(user, "standard")).json() for name, user in users.items()}
    # H was paid before the batch: the batch brings a second payment for it.
    await c.pay(orders["H"], payment_id="pi_h_first")
    ghost = dict(orders["A"], order_id=str(uuid.uuid4()))

    def pay(name: str, **over: Any) -> Envelope:
        over.setdefault("provider_payment_id", f"pi_{name.lower()}")
        return succeeded(orders[name], users[name], **over)

    batch = [
        pay("A"),
        pay("B"),
        failed(orders["F"]["order_id"], users["F"]),
        pay("C"),
        succeeded(ghost, users["A"]),  # an order checkout never issued
        pay("D"),
        pay("D"),  # the same order twice in one batch: another event about its payment
        pay("E", amount_minor=10001),  # more than asked: paid, and listed for an operator
        pay("G", credits=1),  # not what was ordered: held for review
        pay("H", provider_payment_id="pi_h_second"),  # a second payment
        pay("I"),
    ]
    events: list[EventData] = [env.payload() for env in batch]

    async def classified() -> list[bool]:
        async with c.pool.acquire() as conn, conn.transaction():
            plain = await service.plain_payments(conn, events)
            return [p is not None for p in plain]

    # The set-based path is taken for the plain payments only (else this test compares the
    # one-by-one path with itself).
    assert await classified() == [
        True, True, False, True, False, False, False, False, False, False, True
    ]  # fmt: skip

    handle = payment_events_handler(lambda: c.plans, None, SecondPaymentPolicy.REFUND)

    async def batched(conn: Connection) -> None:
        await handle(conn, [consumed(env) for env in batch])

    async def one_by_one(conn: Connection) -> None:
        # The consumer's path before it applied payments set-based.
        async with outbox.batched(conn):
            for event in events:
                if isinstance(event, PaymentSucceededV1):
                    await service.apply_payment_succeeded(
                        conn, event, plans=c.plans, second_payment=SecondPaymentPolicy.REFUND
                    )
                else:
                    assert isinstance(event, PaymentFailedV1)
                    await service.apply_payment_failed(conn, event)

    results = []
    for apply in (batched, one_by_one):
        async with c.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            try:
                outbox_after = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
                before = await _effects(conn, outbox_after)
                counted = _outcomes()
                await apply(conn)
                results.append((before, await _effects(conn, outbox_after), _delta(counted)))
            finally:
                await tx.rollback()

    (before_a, after_a, counted_a), (before_b, after_b, counted_b) = results
    assert before_a == before_b, "each run starts from the same committed state"
    assert after_a != before_a, "the batch changed something"
    assert after_a == after_b
    assert counted_a == counted_b
    assert counted_a == {
        ("stripe_checkout", "paid"): 5.0,  # A, B, C, D, I
        ("stripe_checkout", "overpaid"): 1.0,  # E
        ("stripe_checkout", "needs_review"): 1.0,  # G
        ("stripe_checkout", "held"): 1.0,  # H's second payment
        ("unknown", "held"): 1.0,  # the order checkout never issued
        ("stripe_checkout", "failed"): 1.0,  # F
    }
    paid_types = [o["envelope"]["type"] for o in after_a["outbox"]]
    assert paid_types.count("paystream.order.paid.v1") == 6  # A, B, C, D, E, I
