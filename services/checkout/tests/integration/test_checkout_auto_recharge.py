"""Saved payment methods and auto-recharge in checkout, on the real database and broker, with
stripe-mock answering Stripe (it checks request shapes and keeps no state: every off-session
charge it answers is left `requires_payment_method`, a failed charge). The outcomes a card can
have (success, 3-D Secure, declines) are driven end to end against the stateful fake Stripe in
tests/e2e."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from paystream.shared.events import (
    AutoRechargeConfiguredV1,
    AutoRechargeDisabledV1,
    AutoRechargeFailedV1,
    BalanceLowV1,
    Envelope,
    PaymentMethodChangedV1,
    PaymentSucceededV1,
)
from paystream.shared.kafka import publish

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def customer_of(c: CheckoutUnderTest, user: str) -> str:
    r = await c.http.post("/v1/payment-methods/setup", headers=c.auth(user))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_secret"]
    customer: str = body["customer_id"]
    return customer


async def stripe_says(
    c: CheckoutUnderTest, change: str, customer: str | None, pm: str, **card: Any
) -> None:
    env = Envelope.wrap(
        PaymentMethodChangedV1(
            provider_event_id=f"evt_{uuid.uuid4().hex}",
            change=change,  # type: ignore[arg-type]
            customer_id=customer,
            payment_method_id=pm,
            changed_at=datetime.now(UTC),
            **card,
        ),
        source="test",
    )
    await c.publish_payment(env, customer or pm)


async def saved(c: CheckoutUnderTest, user: str) -> list[dict[str, Any]]:
    r = await c.http.get("/v1/payment-methods/saved", headers=c.auth(user))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def with_cards(c: CheckoutUnderTest, user: str, *pms: str) -> str:
    customer = await customer_of(c, user)
    for pm in pms:
        await stripe_says(
            c,
            "attached",
            customer,
            pm,
            type="card",
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=2034,
        )

    async def all_there() -> bool:
        return {m["id"] for m in await saved(c, user)} == set(pms)

    await c.eventually(all_there, what="saved cards listed")
    return customer


def settings_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enabled": True,
        "unit": "credits",
        "threshold": 100,
        "package_id": "standard",
        "currency": "USD",
        "monthly_cap": {"value": "100.00", "currency": "USD"},
        "daily_count_cap": 3,
        "consent_text": "Charge my saved card when my credits run low.",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


async def balance_low(
    c: CheckoutUnderTest, user: str, *, available: int = 40, env: Envelope | None = None
) -> Envelope:
    env = env or Envelope.wrap(
        BalanceLowV1(
            user_id=user,
            unit="credits",
            threshold=100,
            available=available,
            crossed_at=datetime.now(UTC),
        ),
        source="paystream/ledger",
        subject=user,
    )
    await publish(c.producer, c.settings.topics.ledger_events, user, env)
    return env


async def attempts(c: CheckoutUnderTest, user: str) -> list[dict[str, Any]]:
    async with c.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM auto_recharge_attempts WHERE user_id = $1 ORDER BY created_at", user
        )
    return [dict(r) for r in rows]


# ---- saved payment methods ----------------------------------------------------------------


async def test_saved_methods_follow_stripe_and_are_never_shown_to_another_user(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    alice, bob = _user(), _user()
    customer = await with_cards(c, alice, "pm_alice_1", "pm_alice_2")
    # The same customer again: one per user.
    assert await customer_of(c, alice) == customer
    cards = {m["id"]: m for m in await saved(c, alice)}
    assert cards["pm_alice_1"]["default"] is True  # the first saved card
    assert cards["pm_alice_2"]["default"] is False
    assert (cards["pm_alice_1"]["brand"], cards["pm_alice_1"]["last4"]) == ("visa", "4242")
    assert set(cards["pm_alice_1"]) == {
        "id",
        "type",
        "brand",
        "last4",
        "exp_month",
        "exp_year",
        "default",
        "attached_at",
    }

    # Bob sees nothing of Alice's, and cannot touch it: 404, as for an unknown method.
    assert await saved(c, bob) == []
    for method, path in (
        ("POST", "/v1/payment-methods/saved/pm_alice_2/default"),
        ("DELETE", "/v1/payment-methods/saved/pm_alice_2"),
        ("POST", "/v1/payment-methods/saved/pm_nobody/default"),
    ):
        r = await c.http.request(method, path, headers=c.auth(bob))
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "payment_method_not_found"
    r = await c.http.post("/v1/payment-methods/saved/not a pm/default", headers=c.auth(alice))
    assert r.status_code in (404, 422)

    r = await c.http.post("/v1/payment-methods/saved/pm_alice_2/default", headers=c.auth(alice))
    assert r.status_code == 200, r.text
    assert r.json()["default"] is True
    assert {m["id"]: m["default"] for m in await saved(c, alice)} == {
        "pm_alice_1": False,
        "pm_alice_2": True,
    }

    r = await c.http.delete("/v1/payment-methods/saved/pm_alice_1", headers=c.auth(alice))
    assert r.status_code == 204, r.text
    assert [m["id"] for m in await saved(c, alice)] == ["pm_alice_2"]

    # Removed at Stripe (the dashboard): detached names no customer any more.
    await stripe_says(c, "detached", None, "pm_alice_2")

    async def gone() -> bool:
        return await saved(c, alice) == []

    await c.eventually(gone, what="detached card removed")

    # A customer checkout did not create is not ours: nothing is recorded.
    await stripe_says(c, "attached", "cus_someone_else", "pm_stranger", type="card")
    await stripe_says(c, "attached", customer, "pm_alice_3", type="card")

    async def third() -> bool:
        return [m["id"] for m in await saved(c, alice)] == ["pm_alice_3"]

    await c.eventually(third, what="new card listed")
    async with c.pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM saved_payment_methods WHERE id = 'pm_stranger'"
            )
            == 0
        )


# ---- settings: bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [
        ({"threshold": 0}, 422, "validation_error"),
        ({"threshold": -5}, 422, "validation_error"),
        ({"threshold": 10**13}, 422, "validation_error"),
        ({"threshold": "100"}, 422, "validation_error"),
        ({"daily_count_cap": 0}, 422, "validation_error"),
        ({"daily_count_cap": 1000}, 422, "validation_error"),
        ({"monthly_cap": {"value": "0.00", "currency": "USD"}}, 422, "validation_error"),
        ({"monthly_cap": {"value": "-1", "currency": "USD"}}, 422, "validation_error"),
        ({"monthly_cap": {"value": "100.001", "currency": "USD"}}, 422, "validation_error"),
        ({"monthly_cap": {"value": "100.00", "currency": "EUR"}}, 422, "validation_error"),
        ({"monthly_cap": {"value": "10.00", "currency": "USD"}}, 422, "cap_below_amount"),
        ({"consent_text": ""}, 422, "validation_error"),
        ({"product_id": "credits"}, 422, "validation_error"),
        ({"package_id": None}, 422, "validation_error"),
        ({"package_id": "nope"}, 422, "unknown_package"),
        (
            {"package_id": None, "product_id": "receives", "quantity": 5, "unit": "credits"},
            422,
            "unknown_unit",
        ),
        ({"package_id": None, "product_id": "credits", "quantity": 100000}, 422, None),
        ({"unit": "gold"}, 422, "unknown_unit"),
        ({"unit": "Not A Unit"}, 422, "validation_error"),
        ({"currency": "USDT", "monthly_cap": {"value": "100", "currency": "USDT"}}, 422, None),
        ({"payment_method_id": "alipay_qr"}, 422, "auto_recharge_method_refused"),
        ({"payment_method_id": "wechat_pay_native"}, 422, "auto_recharge_method_refused"),
        ({"payment_method_id": "usdt_trc20"}, 422, "auto_recharge_method_refused"),
        ({"payment_method_id": "pm_not_mine"}, 404, "payment_method_not_found"),
        ({"surprise": 1}, 422, "validation_error"),
    ],
)
async def test_bad_settings_get_a_clear_4xx(
    checkout: CheckoutUnderTest, over: dict[str, Any], status: int, code: str | None
) -> None:
    c = checkout
    user = _user()
    await with_cards(c, user, f"pm_{uuid.uuid4().hex[:8]}")
    r = await c.http.put("/v1/auto-recharge", headers=c.auth(user), json=settings_body(**over))
    assert r.status_code == status, r.text
    if code is not None:
        assert r.json()["error"]["code"] == code, r.text
    else:
        assert r.json()["error"]["code"]  # a coded 4xx, never a 500


async def test_another_users_card_is_not_found_and_no_card_is_refused(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    alice, bob = _user(), _user()
    await with_cards(c, alice, "pm_a_only")
    r = await c.http.put(
        "/v1/auto-recharge", headers=c.auth(bob), json=settings_body(payment_method_id="pm_a_only")
    )
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "payment_method_not_found"
    r = await c.http.put("/v1/auto-recharge", headers=c.auth(bob), json=settings_body())
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "payment_method_required"
    r = await c.http.post("/v1/auto-recharge/trigger", headers=c.auth(bob), json={})
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "auto_recharge_not_configured"
    r = await c.http.get("/v1/auto-recharge", headers=c.auth(bob))
    assert r.json() == {"items": [], "attempts": []}


# ---- a crossing: one attempt, loud failure -------------------------------------------------


async def test_a_crossing_delivered_many_times_charges_once_and_a_failure_disables(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    user = _user()
    await with_cards(c, user, "pm_one")
    r = await c.http.put("/v1/auto-recharge", headers=c.auth(user), json=settings_body())
    assert r.status_code == 200, r.text
    setting = r.json()
    assert (setting["status"], setting["enabled"], setting["threshold"]) == ("active", True, 100)
    assert setting["consent_text"]
    assert setting["consent_at"]

    # One crossing, delivered five times at once (redeliveries, a replay of ledger.events).
    env = await balance_low(c, user)
    await asyncio.gather(*(balance_low(c, user, env=env) for _ in range(4)))

    async def settled() -> list[dict[str, Any]] | None:
        found = await attempts(c, user)
        return found if found and found[0]["status"] not in ("pending", "retrying") else None

    (attempt,) = await c.eventually(settled, what="attempt charged")
    assert attempt["crossing_key"] == str(env.id)
    # stripe-mock leaves an off-session charge requires_payment_method: a failed card.
    assert attempt["status"] == "failed"
    assert attempt["tries"] == 1

    r = await c.http.get("/v1/auto-recharge", headers=c.auth(user))
    (now,) = r.json()["items"]
    assert now["status"] == "disabled"
    assert now["last_error"]
    order = (await c.order(user, str(attempt["order_id"]))).json()
    assert order["status"] == "failed"
    assert order["payment_method"] == "stripe_payment_intent"

    # Disabled: a new crossing charges nothing.
    await balance_low(c, user, available=10)
    await asyncio.sleep(1.0)
    assert len(await attempts(c, user)) == 1

    events = await c.orders_events(expect=6)
    types = [e.type for e in events if e.data.get("user_id") == user]
    assert types.count(AutoRechargeConfiguredV1.TYPE) == 1
    assert types.count(AutoRechargeFailedV1.TYPE) == 1
    assert types.count(AutoRechargeDisabledV1.TYPE) == 1
    configured = next(e for e in events if e.type == AutoRechargeConfiguredV1.TYPE)
    assert configured.data["threshold"] == 100


async def test_a_balance_not_below_our_threshold_charges_nothing(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    user = _user()
    await with_cards(c, user, "pm_x")
    r = await c.http.put("/v1/auto-recharge", headers=c.auth(user), json=settings_body())
    assert r.status_code == 200, r.text
    # A crossing of an older, higher threshold: the balance is not below ours.
    await balance_low(c, user, available=150)
    await asyncio.sleep(1.5)
    assert await attempts(c, user) == []


async def test_the_monthly_cap_reached_charges_nothing_and_says_so(
    checkout: CheckoutUnderTest,
) -> None:
    c = checkout
    user = _user()
    await with_cards(c, user, "pm_capped")
    body = settings_body(monthly_cap={"value": "20.00", "currency": "USD"})
    r = await c.http.put("/v1/auto-recharge", headers=c.auth(user), json=body)
    assert r.status_code == 200, r.text
    # Earlier this month a 14.00 recharge went through.
    async with c.pool.acquire() as conn:
        await conn.execute(
            """
            INSERT INTO auto_recharge_attempts (id, user_id, unit, crossing_key, trigger, status,
                amount_minor, currency, tries, created_at, updated_at)
            VALUES ($1, $2, 'credits', 'earlier', 'balance_low', 'succeeded', 1400, 'USD', 1,
                now(), now())
            """,
            uuid.uuid4(),
            user,
        )
    env = await balance_low(c, user)

    async def skipped() -> dict[str, Any] | None:
        found = [a for a in await attempts(c, user) if a["crossing_key"] == str(env.id)]
        return found[0] if found else None

    attempt = await c.eventually(skipped, what="capped attempt")
    assert attempt["status"] == "skipped"
    assert attempt["error_code"] == "monthly_cap_reached"
    assert attempt["order_id"] is None  # no order, no charge
    r = await c.http.get("/v1/auto-recharge", headers=c.auth(user))
    (now,) = r.json()["items"]
    assert now["status"] == "active"  # a cap is not a failure of the card
    assert "monthly cap" in now["last_error"]
    events = await c.orders_events(expect=3)
    failed = [
        e for e in events if e.type == AutoRechargeFailedV1.TYPE and e.data["user_id"] == user
    ]
    assert [e.data["code"] for e in failed] == ["monthly_cap_reached"]
    # The manual trigger obeys the same cap.
    r = await c.http.post("/v1/auto-recharge/trigger", headers=c.auth(user), json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "skipped"
    assert r.json()["error_code"] == "monthly_cap_reached"


async def test_a_payment_for_an_order_that_is_not_ours_does_not_hold_up_the_partition(
    checkout: CheckoutUnderTest,
) -> None:
    """Auto-recharge looks at every paid order: one whose id is not even a UUID (another
    deployment's) is reported by the orders' handler and must not fail the batch."""
    c = checkout
    user = _user()
    customer = await customer_of(c, user)
    foreign = Envelope.wrap(
        PaymentSucceededV1(
            order_id="ord_not_a_uuid",
            user_id="someone",
            credits=1,
            amount_minor=100,
            currency="USD",
            provider="stripe",
            provider_event_id=f"evt_{uuid.uuid4().hex}",
            paid_at=datetime.now(UTC),
        ),
        source="test",
    )
    # The same key as the card's notification: one partition, in this order.
    await c.publish_payment(foreign, customer)
    await stripe_says(c, "attached", customer, "pm_after", type="card")

    async def listed() -> bool:
        return [m["id"] for m in await saved(c, user)] == ["pm_after"]

    await c.eventually(listed, timeout_s=10, what="card listed")
    # Handled, not dead-lettered: the orders' handler recorded it for an operator.
    async with c.pool.acquire() as conn:
        held = await conn.fetchval(
            "SELECT count(*) FROM payment_reviews WHERE provider_event_id = $1",
            foreign.data["provider_event_id"],
        )
    assert held == 1


async def test_a_purchase_can_save_its_card(checkout: CheckoutUnderTest) -> None:
    c = checkout
    user = _user()
    r = await c.http.post(
        "/v1/orders",
        headers=c.auth(user),
        json={
            "package_id": "standard",
            "payment_method": "stripe_payment_intent",
            "currency": "USD",
            "save_card": True,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["payment_method_types"] == ["card"]
    async with c.pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM stripe_customers WHERE user_id = $1", user)
            == 1
        )
    r = await c.http.post(
        "/v1/orders",
        headers=c.auth(user),
        json={"package_id": "standard", "payment_method": "stripe_checkout", "save_card": True},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"


async def test_an_unreachable_stripe_is_a_502_never_a_500(
    make_checkout: Any, closed_port: int
) -> None:
    async with make_checkout(
        stripe_api_base=f"http://127.0.0.1:{closed_port}", stripe_max_network_retries=0
    ) as c:
        user = _user()
        r = await c.http.post("/v1/payment-methods/setup", headers=c.auth(user))
        assert r.status_code == 502, r.text
        assert r.json()["error"]["code"] == "upstream_error"
        r = await c.http.post(
            "/v1/orders",
            headers=c.auth(user),
            json={
                "package_id": "standard",
                "payment_method": "stripe_payment_intent",
                "currency": "USD",
                "save_card": True,
            },
        )
        assert r.status_code == 502, r.text


async def test_a_customer_deleted_at_stripe_is_replaced(
    make_checkout: Any, fake_stripe: Any
) -> None:
    """A customer Stripe no longer knows (deleted in the dashboard): the next setup makes the
    user a new one, and the cards of the old one are gone from the list."""
    async with make_checkout(stripe_customers_api_base=fake_stripe.url) as c:
        user = _user()
        first = await customer_of(c, user)
        async with httpx.AsyncClient(base_url=fake_stripe.url) as http:
            r = await http.delete(
                f"/v1/customers/{first}", headers={"Authorization": "Bearer sk_test_123"}
            )
            assert r.status_code == 200, r.text
        second = await customer_of(c, user)
        assert second != first
        assert await customer_of(c, user) == second
