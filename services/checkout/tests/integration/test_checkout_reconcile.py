"""The reconciler's rounds on PostgreSQL and stripe-mock: what it claims, its backoff, and a
plan's Stripe orders (asked where they were charged, settled by their subscription). (Orders and
refunds it settles with the Alipay and WeChat Pay fakes: tests/e2e.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from paystream.checkout.orders.sync import RECONCILER_SOURCE, apply_lookup
from paystream.checkout.providers import PaymentLookup
from paystream.checkout.providers.stripe import invoice_lookup, session_lookup
from paystream.checkout.reconcile.service import ReconcileConfig, reconcile_once
from paystream.shared.db import transaction
from paystream.shared.events import Envelope, PaymentSucceededV1, SubscriptionInvoicePaidV1
from paystream.shared.money import Money

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration

CONFIG = ReconcileConfig(
    order_min_age=timedelta(0),
    refund_min_age=timedelta(0),
    backoff=timedelta(seconds=60),
    backoff_max=timedelta(hours=1),
)


async def _check(c: CheckoutUnderTest, order_id: str) -> Any:
    async with c.pool.acquire() as conn:
        return await conn.fetchrow(
            """
            SELECT attempts, next_check_at - checked_at AS wait, last_outcome
            FROM provider_checks WHERE subject_kind = 'order' AND subject_id = $1
            """,
            uuid.UUID(order_id),
        )


async def test_a_pending_order_is_asked_then_left_alone_until_its_backoff(
    checkout: CheckoutUnderTest,
) -> None:
    user = f"user-{uuid.uuid4().hex[:12]}"
    order = (await checkout.create_order(user)).json()
    first = await reconcile_once(checkout.pool, checkout.providers, CONFIG, checkout.plans)
    assert first.queried >= 1
    row = await _check(checkout, order["order_id"])
    # stripe-mock's session is open: asked once, next in a minute.
    assert (row["attempts"], row["wait"], row["last_outcome"]) == (1, timedelta(minutes=1), "open")
    await reconcile_once(checkout.pool, checkout.providers, CONFIG, checkout.plans)
    assert (await _check(checkout, order["order_id"]))["attempts"] == 1  # not due yet
    assert (await checkout.order(user, order["order_id"])).json()["status"] == "pending"


async def test_backoff_doubles_up_to_its_cap_even_after_thousands_of_attempts(
    checkout: CheckoutUnderTest,
) -> None:
    user = f"user-{uuid.uuid4().hex[:12]}"
    order = (await checkout.create_order(user)).json()
    for attempts, wait in ((2, timedelta(minutes=4)), (5000, timedelta(hours=1))):
        async with checkout.pool.acquire() as conn:
            await conn.execute(
                """
                INSERT INTO provider_checks (subject_kind, subject_id, attempts, checked_at,
                    next_check_at)
                VALUES ('order', $1, $2, now() - interval '2 hours', now() - interval '1 hour')
                ON CONFLICT (subject_kind, subject_id) DO UPDATE
                    SET attempts = $2, next_check_at = now() - interval '1 hour'
                """,
                uuid.UUID(order["order_id"]),
                attempts,
            )
        await reconcile_once(checkout.pool, checkout.providers, CONFIG, checkout.plans)
        row = await _check(checkout, order["order_id"])
        assert (row["attempts"], row["wait"]) == (attempts + 1, wait)


async def _post(c: CheckoutUnderTest, user: str, path: str, **body: Any) -> Any:
    headers = {**c.auth(user), "Idempotency-Key": uuid.uuid4().hex}
    return await c.http.post(f"/v1/subscriptions{path}", headers=headers, json=body)


async def _plan(c: CheckoutUnderTest, user: str) -> Any:
    return (await c.http.get("/v1/subscription", headers=c.auth(user))).json()


async def _payment_of(c: CheckoutUnderTest, order_id: str) -> Any:
    async with c.pool.acquire() as conn:
        return await conn.fetchval(
            "SELECT provider_payment_id FROM orders WHERE id = $1", uuid.UUID(order_id)
        )


async def _apply(c: CheckoutUnderTest, order_id: str, lookup: PaymentLookup) -> None:
    """What the reconciler does with Stripe's answer once Stripe says paid (stripe-mock's
    sessions and invoices never are)."""
    async with transaction(c.pool) as conn:
        await apply_lookup(
            conn, uuid.UUID(order_id), lookup, source=RECONCILER_SOURCE, plans=c.plans
        )


async def test_a_plan_s_stripe_orders_are_asked_where_they_were_charged_and_settled_by_it(
    make_checkout: Any,
) -> None:
    async with make_checkout(sandbox=True, subscription_sweep_s=0.1) as c:
        user = f"user-{uuid.uuid4().hex[:12]}"
        r = await _post(c, user, "", plan_id="pro", payment_method="stripe_checkout")
        assert r.status_code == 201, r.text
        first = r.json()["order"]
        assert first["kind"] == "subscription"

        # Paid: the subscription-mode session names no PaymentIntent, its first invoice paid.
        # Settled as the consumer settles a plan's order: the subscription takes it in.
        paid = session_lookup("complete", "paid", None, 2900, "cny", invoice="in_first")
        await _apply(c, first["order_id"], paid)
        assert (await c.order(user, first["order_id"])).json()["status"] == "paid"
        assert await _payment_of(c, first["order_id"]) == "in_first"
        sub = await _plan(c, user)
        assert (sub["plan"]["id"], sub["billing"]) == ("pro", "stripe")
        # The late checkout.session.completed (no PaymentIntent either) changes nothing.
        late = Envelope.wrap(
            PaymentSucceededV1(
                order_id=first["order_id"],
                user_id=user,
                package_id=first["package_id"],
                credits=first["credits"],
                amount_minor=2900,
                currency="CNY",
                provider="stripe",
                provider_event_id=f"evt_{uuid.uuid4().hex}",
                provider_payment_id=None,
                provider_session_id=first["provider_session_id"],
                paid_at=datetime.now(UTC),
            ),
            source="test",
        )
        await c.publish_payment(late, user)
        async with c.pool.acquire() as conn:

            async def consumed() -> bool:
                row = await conn.fetchval("SELECT 1 FROM inbox WHERE event_id = $1", late.id)
                return row is not None

            await c.eventually(consumed, what="the late notification consumed")
            assert await conn.fetchval("SELECT count(*) FROM payment_reviews") == 0
        assert (await c.order(user, first["order_id"])).json()["status"] == "paid"
        assert await _payment_of(c, first["order_id"]) == "in_first"

        # Linked to Stripe's subscription (its first invoice.paid), then an upgrade charged on
        # a Stripe invoice: sync and the reconciler ask Stripe about that invoice, not about a
        # PaymentIntent named `in_...` (stripe-mock answers any id; Stripe answers 404, which
        # was asked again forever).
        await c.publish_payment(
            Envelope.wrap(
                SubscriptionInvoicePaidV1(
                    subscription_id=sub["subscription_id"],
                    user_id=user,
                    provider="stripe",
                    provider_event_id=f"evt_{uuid.uuid4().hex}",
                    provider_subscription_id="sub_test_1",
                    provider_customer_id="cus_test_1",
                    provider_invoice_id="in_first",
                    billing_reason="subscription_create",
                    amount_minor=2900,
                    currency="cny",
                    paid_at=datetime.now(UTC),
                ),
                source="test",
            ),
            user,
        )

        async def linked() -> bool:
            return bool((await _plan(c, user))["stripe_subscription_id"] == "sub_test_1")

        await c.eventually(linked, what="linked to Stripe's subscription")
        changed = await _post(c, user, "/change", plan_id="vip")
        assert changed.status_code == 200, changed.text
        up = changed.json()["order"]
        assert (up["payment_method"], up["provider_session_id"][:3]) == ("stripe_invoice", "in_")
        r = await c.http.post(f"/v1/orders/{up['order_id']}/sync", headers=c.auth(user))
        assert r.status_code == 200, r.text
        # stripe-mock's invoice is a draft: open, in the invoice's own word.
        assert r.json()["provider"] == {"state": "open", "status": "draft"}
        await reconcile_once(c.pool, c.providers, CONFIG, c.plans)
        assert (await _check(c, up["order_id"]))["last_outcome"] == "open"

        amount = Money.parse(up["amount"]["value"], up["amount"]["currency"])
        await _apply(
            c,
            up["order_id"],
            invoice_lookup("paid", up["provider_session_id"], None, amount.minor, "cny", None),
        )
        assert (await c.order(user, up["order_id"])).json()["status"] == "paid"
        assert (await _plan(c, user))["plan"]["id"] == "vip"
