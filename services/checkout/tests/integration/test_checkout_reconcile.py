"""The reconciler's rounds on PostgreSQL and stripe-mock: what it claims, and its backoff.
(Orders and refunds it settles with the Alipay and WeChat Pay fakes: tests/e2e.)"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from paystream.checkout.reconcile.service import ReconcileConfig, reconcile_once

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
