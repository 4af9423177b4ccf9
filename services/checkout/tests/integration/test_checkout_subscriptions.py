"""Subscriptions on the real PostgreSQL, Kafka and stripe-mock, in sandbox mode: the state machine
moved by payments, by checkout's sandbox clock (reminders, period ends, grace) and by Stripe
Subscriptions' normalized notifications, with the OrderPaidV1 each period, upgrade and free
allowance publishes. USDT stands for the methods without recurring charges (the fake TronGrid
serves its watcher); payments are published on payments.events as webhook-ingest would."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from paystream.devtools.fakes import serving
from paystream.devtools.fakes.trongrid import create_app as create_fake_trongrid
from paystream.shared.events import (
    Envelope,
    EventData,
    OrderPaidV1,
    PaymentSucceededV1,
    SubscriptionChangedV1,
    SubscriptionInvoicePaidV1,
    SubscriptionPaymentFailedV1,
    SubscriptionRenewalDueV1,
    SubscriptionStatusV1,
)
from paystream.shared.money import Money

if TYPE_CHECKING:
    from conftest import CheckoutUnderTest, MakeCheckout

pytestmark = pytest.mark.integration

ADDRESS = "TLsV52sRDL79HXGGm9yzwKibb6BeruhUzy"


@pytest.fixture
async def plans(make_checkout: MakeCheckout) -> AsyncIterator[CheckoutUnderTest]:
    async with (
        serving(create_fake_trongrid()) as trongrid,
        make_checkout(
            sandbox=True,
            usdt_deposit_address=ADDRESS,
            usdt_api_base=trongrid,
            usdt_poll_interval_s=60,
            subscription_sweep_s=0.1,
            stripe_subscription_sync_s=0.1,
            renewal_reminder_days=3,
            renewal_grace_days=3,
        ) as c,
    ):
        yield c


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _get(c: CheckoutUnderTest, user: str) -> dict[str, Any]:
    r = await c.http.get("/v1/subscription", headers=c.auth(user))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _post(c: CheckoutUnderTest, user: str, path: str, **body: Any) -> Any:
    headers = {**c.auth(user), "Idempotency-Key": body.pop("key", uuid.uuid4().hex)}
    return await c.http.post(f"/v1/subscriptions{path}", headers=headers, json=body)


async def _advance(c: CheckoutUnderTest, by: str) -> None:
    r = await c.http.post(
        "/v1/sandbox/clock/advance", headers=c.auth("ops", admin=True), json={"by": by}
    )
    assert r.status_code == 200, r.text


async def _pay(c: CheckoutUnderTest, order: dict[str, Any], **over: Any) -> None:
    """What the provider's notification says: the exact amount asked (USDT: the deposit's)."""
    asked = order["deposit"]["amount"] if order["deposit"] else order["amount"]
    amount = Money.parse(asked["value"], asked["currency"])
    facts: dict[str, Any] = {
        "order_id": order["order_id"],
        "user_id": order["user_id"],
        "package_id": order["package_id"],
        "credits": order["credits"],
        "amount_minor": amount.minor,
        "currency": amount.currency,
        "provider": order["provider"],
        "provider_event_id": f"evt_{uuid.uuid4().hex}",
        "provider_payment_id": f"pay_{uuid.uuid4().hex[:12]}",
        "provider_session_id": order["provider_session_id"],
        "paid_at": datetime.now(UTC),
        **over,
    }
    await _publish(c, PaymentSucceededV1(**facts), order["user_id"])


async def _publish(c: CheckoutUnderTest, data: EventData, user: str) -> None:
    await c.publish_payment(Envelope.wrap(data, source="test"), user)


async def _until(c: CheckoutUnderTest, user: str, check: Any, what: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        body = await _get(c, user)
        return body if check(body) else None

    result: dict[str, Any] = await c.eventually(probe, what=what)
    return result


async def _events(c: CheckoutUnderTest, user: str, at_least: int) -> list[Envelope]:
    out: list[Envelope] = []
    for _ in range(50):
        out = [
            e
            for e in await c.orders_events(expect=10**6, timeout_s=1.0)
            if e.data.get("user_id") == user
        ]
        if len(out) >= at_least:
            return out
    return out


def _paid(events: list[Envelope]) -> list[OrderPaidV1]:
    return [e.payload_as(OrderPaidV1) for e in events if e.type == OrderPaidV1.TYPE]


def _changes(events: list[Envelope]) -> list[str]:
    return [
        e.payload_as(SubscriptionChangedV1).change
        for e in events
        if e.type == SubscriptionChangedV1.TYPE
    ]


async def test_a_user_starts_on_basic_with_its_monthly_allowance(plans: CheckoutUnderTest) -> None:
    user = _user()
    sub = await _get(plans, user)
    assert (sub["plan"]["id"], sub["status"], sub["billing"]) == ("basic", "active", "free")
    start = datetime.fromisoformat(sub["current_period"]["start"])
    end = datetime.fromisoformat(sub["current_period"]["end"])
    assert 28 <= (end - start).days <= 31
    assert (await _get(plans, user))["subscription_id"] == sub["subscription_id"]  # one per user
    events = await _events(plans, user, 3)
    (allowance,) = _paid(events)
    assert (allowance.amount_minor, allowance.provider, allowance.payment_method) == (
        0,
        None,
        "none",
    )
    assert [(g.unit, g.quantity, g.source, g.expires_at) for g in allowance.grants] == [
        ("receives", 3, "plan_allowance", end)
    ]
    assert allowance.plan is not None
    assert allowance.plan.kind == "allowance"
    assert _changes(events) == ["enrolled"]


async def test_subscribe_upgrade_downgrade_renew_ahead_then_lapse_to_basic(
    plans: CheckoutUnderTest,
) -> None:
    c, user = plans, _user()
    r = await _post(c, user, "", plan_id="pro", payment_method="usdt_trc20")
    assert r.status_code == 201, r.text
    order = r.json()["order"]
    assert (order["kind"], order["package_id"], order["credits"]) == ("subscription", "pro", 20)
    assert order["amount"] == {"value": "4.000000", "currency": "USDT"}
    assert r.json()["subscription"]["plan"]["id"] == "basic"  # until it is paid
    assert r.json()["subscription"]["pending_orders"][0]["order_id"] == order["order_id"]

    again = await _post(c, user, "", plan_id="vip", payment_method="usdt_trc20")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "change_pending"

    await _pay(c, order)
    sub = await _until(c, user, lambda s: s["plan"]["id"] == "pro", "subscribed to pro")
    assert (sub["billing"], sub["currency"], sub["payment_method"]) == (
        "manual",
        "USDT",
        "usdt_trc20",
    )
    period_end = datetime.fromisoformat(sub["current_period"]["end"])

    second = await _post(c, user, "", plan_id="vip", payment_method="usdt_trc20")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "subscription_exists"
    same = await _post(c, user, "/change", plan_id="pro")
    assert same.json()["error"]["code"] == "plan_unchanged"
    unknown = await _post(c, user, "/change", plan_id="gold")
    assert unknown.json()["error"]["code"] == "unknown_plan"

    # Half-way through the period (a 28 to 31 day month), upgrade to VIP.
    await _advance(c, "P14D")
    preview = await _post(c, user, "/preview", plan_id="vip")
    assert preview.status_code == 200, preview.text
    p = preview.json()
    left, length = p["proration"]["seconds_left"], p["proration"]["seconds_in_period"]
    assert p["charge"]["value"] == Money(4_000_000 * left // length, "USDT").format()
    assert p["allowance_delta"] == 80 * left // length
    assert (p["change"], p["effective"]) == ("upgrade", "now")
    changed = await _post(c, user, "/change", plan_id="vip", preview=p["token"])
    assert changed.status_code == 200, changed.text
    upgrade = changed.json()["order"]
    assert upgrade["amount"]["value"] == p["charge"]["value"]
    assert upgrade["grants"][0]["quantity"] == p["allowance_delta"]
    await _pay(c, upgrade)
    sub = await _until(c, user, lambda s: s["plan"]["id"] == "vip", "upgraded to vip")
    assert datetime.fromisoformat(sub["current_period"]["end"]) == period_end  # same period

    # Downgrade back to Pro: at the period's end.
    down = await _post(c, user, "/change", plan_id="pro")
    assert down.status_code == 200, down.text
    assert (down.json()["effective"], down.json()["order"]) == ("period_end", None)
    assert down.json()["subscription"]["next_plan_id"] == "pro"

    # Renewals open three days before the end: a reminder, then the renewal (at Pro's price).
    early = await _post(c, user, "/renew")
    assert early.json()["error"]["code"] == "renewal_not_due"
    left_s = (period_end - datetime.fromisoformat((await _get(c, user))["now"])).total_seconds()
    await _advance(c, f"PT{int(left_s) - 2 * 86400}S")
    renewal = await _post(c, user, "/renew")
    assert renewal.status_code == 201, renewal.text
    renewal_order = renewal.json()["order"]
    assert (renewal_order["kind"], renewal_order["package_id"]) == ("renewal", "pro")
    await _pay(c, renewal_order)
    await _until(c, user, lambda s: s["renewal"] and s["renewal"]["paid"], "renewal paid ahead")
    assert (await _get(c, user))["plan"]["id"] == "vip"  # still VIP until the period ends

    await _advance(c, "P2DT1H")
    sub = await _until(c, user, lambda s: s["plan"]["id"] == "pro", "renewed on pro")
    assert datetime.fromisoformat(sub["current_period"]["start"]) == period_end

    # The next period is not paid: past due at its end, Basic after the grace period.
    nxt_end = datetime.fromisoformat(sub["current_period"]["end"])
    left_s = (nxt_end - datetime.fromisoformat(sub["now"])).total_seconds()
    await _advance(c, f"PT{int(left_s) + 60}S")
    sub = await _until(c, user, lambda s: s["status"] == "past_due", "past due")
    assert datetime.fromisoformat(sub["grace_ends_at"]) == nxt_end + timedelta(days=3)
    await _advance(c, "P3D")
    sub = await _until(c, user, lambda s: s["plan"]["id"] == "basic", "dropped to basic")
    assert (sub["status"], sub["billing"]) == ("active", "free")

    events = await _events(c, user, 12)
    changes = _changes(events)
    assert changes == [
        "enrolled",
        "subscribed",
        "upgraded",
        "downgrade_scheduled",
        "downgraded",
        "past_due",
        "dropped",
    ], changes
    reminders = [e for e in events if e.type == SubscriptionRenewalDueV1.TYPE]
    assert len(reminders) >= 1
    paid = _paid(events)
    kinds = [(p.plan.kind if p.plan else None, p.package_id) for p in paid]
    assert kinds == [
        ("allowance", "basic"),
        ("subscription", "pro"),
        ("upgrade", "vip"),
        ("renewal", "pro"),
        ("allowance", "basic"),
    ], kinds
    renewed = paid[3]
    assert (
        renewed.grants[0].expires_at == datetime.fromisoformat(sub["history"][1]["changed_at"])
        or renewed.grants[0].quantity == 20
    )


async def test_bad_subscription_requests_are_4xx(plans: CheckoutUnderTest) -> None:
    c, user = plans, _user()
    cases = [
        ("", {"plan_id": "gold", "payment_method": "usdt_trc20"}, 422, "unknown_plan"),
        ("", {"plan_id": "basic", "payment_method": "usdt_trc20"}, 409, "plan_unchanged"),
        (
            "",
            {"plan_id": "pro", "payment_method": "stripe_payment_intent"},
            422,
            "payment_method_unavailable",
        ),
        (
            "",
            {"plan_id": "pro", "payment_method": "usdt_trc20", "currency": "EUR"},
            422,
            "currency_not_offered",
        ),
        ("/change", {"plan_id": "vip"}, 409, "no_paid_plan"),
        ("/preview", {"plan_id": "vip"}, 409, "no_paid_plan"),
        ("/cancel", {}, 409, "no_paid_plan"),
        ("/renew", {}, 409, "no_paid_plan"),
        ("", {"plan_id": "pro"}, 422, "validation_error"),
    ]
    for path, body, status, code in cases:
        r = await _post(c, user, path, **body)
        assert r.status_code == status, (path, body, r.text)
        assert r.json()["error"]["code"] == code, (path, body, r.text)
    async with c.pool.acquire() as conn:
        n = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE user_id = $1 AND kind <> 'allowance'", user
        )
    assert n == 0, "nothing was charged"


async def test_a_tampered_or_stale_preview_is_refused(plans: CheckoutUnderTest) -> None:
    c, user = plans, _user()
    order = (await _post(c, user, "", plan_id="pro", payment_method="usdt_trc20")).json()["order"]
    await _pay(c, order)
    await _until(c, user, lambda s: s["plan"]["id"] == "pro", "subscribed")
    token = (await _post(c, user, "/preview", plan_id="vip")).json()["token"]
    tampered = await _post(c, user, "/change", plan_id="vip", preview=token[:-3] + "xyz")
    assert tampered.json()["error"]["code"] == "preview_invalid"
    other = await _post(c, _user(), "/change", plan_id="vip", preview=token)
    assert other.status_code in (409, 422)
    await _advance(c, "PT16M")
    expired = await _post(c, user, "/change", plan_id="vip", preview=token)
    assert expired.json()["error"]["code"] == "preview_expired"
    pro_token = (await _post(c, user, "/preview", plan_id="vip")).json()["token"]
    down = await _post(c, user, "/change", plan_id="pro_annual")
    assert down.json()["effective"] == "period_end"
    await _post(c, user, "/resume")
    assert (await _get(c, user))["next_plan_id"] is None
    cancel = await _post(c, user, "/cancel")
    assert cancel.json()["cancel_at_period_end"] is True
    # A preview made before the cancel still describes the period and the plans: accepted.
    ok = await _post(c, user, "/change", plan_id="vip", preview=pro_token)
    assert ok.status_code == 200, ok.text


def _invoice_paid(sub: dict[str, Any], user: str, reason: str, amount: int, **kw: Any) -> Any:
    return SubscriptionInvoicePaidV1(
        subscription_id=sub["subscription_id"],
        user_id=user,
        provider="stripe",
        provider_event_id=f"evt_{uuid.uuid4().hex}",
        provider_subscription_id=kw.pop("stripe_sub", "sub_test_1"),
        provider_customer_id="cus_test_1",
        provider_invoice_id=kw.pop("invoice", f"in_{uuid.uuid4().hex[:16]}"),
        provider_payment_id=f"pi_{uuid.uuid4().hex[:12]}",
        billing_reason=reason,
        amount_minor=amount,
        currency="cny",
        paid_at=datetime.now(UTC),
        **kw,
    )


async def test_stripe_subscriptions_renew_fail_and_end(plans: CheckoutUnderTest) -> None:
    c, user = plans, _user()
    r = await _post(c, user, "", plan_id="pro", payment_method="stripe_checkout")
    assert r.status_code == 201, r.text
    order = r.json()["order"]
    assert order["payment_url"], "stripe-mock took the subscription-mode Checkout Session"
    await _pay(c, order, provider_payment_id=None)
    sub = await _until(c, user, lambda s: s["plan"]["id"] == "pro", "subscribed")
    assert sub["billing"] == "stripe"
    await _publish(c, _invoice_paid(sub, user, "subscription_create", 2900), user)
    sub = await _until(c, user, lambda s: s["stripe_subscription_id"] == "sub_test_1", "linked")

    # Upgrade: charged to the card on a Stripe invoice; its invoice.paid names the order.
    changed = await _post(c, user, "/change", plan_id="vip")
    assert changed.status_code == 200, changed.text
    up = changed.json()["order"]
    assert (up["payment_method"], up["provider"]) == ("stripe_invoice", "stripe")
    assert up["provider_session_id"].startswith("in_")
    await _pay(c, up, provider_payment_id=f"pi_{uuid.uuid4().hex[:12]}")
    await _until(c, user, lambda s: s["plan"]["id"] == "vip", "upgraded")
    async with c.pool.acquire() as conn:

        async def synced() -> bool:
            row = await conn.fetchrow(
                "SELECT version, stripe_synced_version FROM subscriptions WHERE user_id = $1",
                user,
            )
            return bool(row["version"] == row["stripe_synced_version"])

        await c.eventually(synced, what="the price change pushed to stripe-mock")

    # A month later Stripe charges the renewal (at VIP's price): a renewal order, paid.
    end = datetime.fromisoformat(sub["current_period"]["end"])
    left_s = (end - datetime.fromisoformat((await _get(c, user))["now"])).total_seconds()
    await _advance(c, f"PT{int(left_s) + 5}S")
    invoice = f"in_{uuid.uuid4().hex[:16]}"
    paid = _invoice_paid(sub, user, "subscription_cycle", 5900, invoice=invoice)
    await _publish(c, paid, user)
    await _publish(c, paid, user)  # Stripe delivers twice: one renewal
    sub = await _until(
        c, user, lambda s: datetime.fromisoformat(s["current_period"]["start"]) == end, "renewed"
    )
    assert sub["plan"]["id"] == "vip"

    # The next renewal fails: past due while Stripe retries; Stripe gives up: Basic.
    await _publish(
        c,
        SubscriptionPaymentFailedV1(
            subscription_id=sub["subscription_id"],
            user_id=user,
            provider="stripe",
            provider_event_id=f"evt_{uuid.uuid4().hex}",
            provider_subscription_id="sub_test_1",
            provider_invoice_id=f"in_{uuid.uuid4().hex[:16]}",
            billing_reason="subscription_cycle",
            attempt_count=1,
            next_attempt_at=datetime.now(UTC) + timedelta(days=3),
            reason="card_declined",
            failed_at=datetime.now(UTC),
        ),
        user,
    )
    await _until(c, user, lambda s: s["status"] == "past_due", "past due")
    await _publish(
        c,
        SubscriptionStatusV1(
            subscription_id=sub["subscription_id"],
            user_id=user,
            provider="stripe",
            provider_event_id=f"evt_{uuid.uuid4().hex}",
            provider_subscription_id="sub_test_1",
            status="canceled",
            deleted=True,
            changed_at=datetime.now(UTC),
        ),
        user,
    )
    sub = await _until(c, user, lambda s: s["plan"]["id"] == "basic", "ended by Stripe")
    events = await _events(c, user, 10)
    assert _changes(events) == [
        "enrolled",
        "subscribed",
        "upgraded",
        "renewed",
        "past_due",
        "provider_ended",
    ]
    kinds = [(p.plan.kind if p.plan else None, p.paid_minor) for p in _paid(events)]
    assert kinds[1:4] == [("subscription", 2900), ("upgrade", kinds[2][1]), ("renewal", 5900)]


async def test_idempotent_subscribe(plans: CheckoutUnderTest) -> None:
    c, user = plans, _user()
    first = await _post(c, user, "", plan_id="pro", payment_method="usdt_trc20", key="k1")
    again = await _post(c, user, "", plan_id="pro", payment_method="usdt_trc20", key="k1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order"]["order_id"] == first.json()["order"]["order_id"]
    other = await _post(c, user, "", plan_id="vip", payment_method="usdt_trc20", key="k1")
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_an_annual_plan_is_paid_once_and_granted_month_by_month(
    plans: CheckoutUnderTest,
) -> None:
    c, user = plans, _user()
    r = await _post(c, user, "", plan_id="pro_annual", payment_method="usdt_trc20")
    assert r.status_code == 201, r.text
    order = r.json()["order"]
    assert (order["credits"], order["amount"]["value"]) == (20, "40.000000")
    await _pay(c, order)
    sub = await _until(c, user, lambda s: s["plan"]["id"] == "pro_annual", "subscribed")
    year_end = datetime.fromisoformat(sub["current_period"]["end"])
    first_month_end = datetime.fromisoformat(sub["allowance_period"]["end"])
    assert first_month_end < year_end
    assert 365 <= (year_end - datetime.fromisoformat(sub["current_period"]["start"])).days <= 366

    # Past the first month: the second month's allowance, free, expiring at its own end.
    left_s = (first_month_end - datetime.fromisoformat(sub["now"])).total_seconds()
    await _advance(c, f"PT{int(left_s) + 60}S")
    sub = await _until(
        c,
        user,
        lambda s: datetime.fromisoformat(s["allowance_period"]["start"]) == first_month_end,
        "second month",
    )
    second_month_end = datetime.fromisoformat(sub["allowance_period"]["end"])
    assert datetime.fromisoformat(sub["current_period"]["end"]) == year_end  # one paid year
    paid = _paid(await _events(c, user, 6))
    kinds = [(p.plan.kind if p.plan else None, p.package_id, p.amount_minor) for p in paid]
    assert kinds == [
        ("allowance", "basic", 0),
        ("subscription", "pro_annual", 40_000_000),
        ("allowance", "pro_annual", 0),
    ], kinds
    first, month = paid[1], paid[2]
    assert [(g.quantity, g.source, g.expires_at) for g in first.grants] == [
        (20, "plan_allowance", first_month_end)
    ]
    assert [(g.quantity, g.source, g.expires_at) for g in month.grants] == [
        (20, "plan_allowance", second_month_end)
    ]
    assert month.provider is None  # granted, not invoiced: the year was


@pytest.fixture
def rollover_catalog(tmp_path: Path) -> Path:
    """The default catalog, with Pro carrying up to 10 unused receives into the next month."""
    default = resources.files("paystream.checkout.catalog").joinpath("catalog.default.json")
    catalog = json.loads(default.read_text())
    for plan in catalog["plans"]:
        if plan["id"] == "pro":
            plan["rollover"] = {"cap": 10}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


async def test_a_plan_s_rollover_cap_rides_on_its_allowance(
    make_checkout: MakeCheckout, rollover_catalog: Path
) -> None:
    """Only the ledger of lots knows how much of a month's allowance is unused: checkout
    announces the plan's cap with each allowance, the ledger carries the rest up to it."""
    path = rollover_catalog
    async with (
        serving(create_fake_trongrid()) as trongrid,
        make_checkout(
            sandbox=True,
            catalog_file=path,
            usdt_deposit_address=ADDRESS,
            usdt_api_base=trongrid,
            usdt_poll_interval_s=60,
            subscription_sweep_s=0.1,
        ) as c,
    ):
        user = _user()
        plans = (await c.http.get("/v1/plans")).json()["plans"]
        assert [(p["id"], p["rollover_cap"]) for p in plans][:2] == [("basic", None), ("pro", 10)]
        order = (await _post(c, user, "", plan_id="pro", payment_method="usdt_trc20")).json()
        await _pay(c, order["order"])
        await _until(c, user, lambda s: s["plan"]["id"] == "pro", "subscribed")
        paid = _paid(await _events(c, user, 4))
        caps = [(p.package_id, p.plan.rollover_cap if p.plan else "-") for p in paid]
        assert caps == [("basic", None), ("pro", 10)], caps


async def test_payment_stats_count_the_plans_held_and_bought(plans: CheckoutUnderTest) -> None:
    """The dashboard's plan popularity: subscriptions held per plan now, and the plans' orders
    (Basic's free allowances are not orders anyone bought)."""
    c = plans
    # The stats are per UTC day of the (sandbox) clock that dated the orders.
    day = (await _get(c, _user()))["current_period"]["start"][:10]

    async def stats() -> list[dict[str, Any]]:
        r = await c.http.get(
            "/v1/admin/stats/payments",
            params={"since": day, "until": day},
            headers=c.auth("ops", admin=True),
        )
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()["plans"]
        return rows

    def moved(
        after: list[dict[str, Any]], before: list[dict[str, Any]], plan: str
    ) -> dict[str, int]:
        zero = dict.fromkeys(("active", "past_due", "orders", "paid"), 0)
        was = next((p for p in before if p["plan_id"] == plan), zero)
        now = next((p for p in after if p["plan_id"] == plan), zero)
        return {k: now[k] - was[k] for k in zero}

    before = await stats()
    await _get(c, _user())  # one more user, who stays on Basic
    subscriber = _user()
    r = await _post(c, subscriber, "", plan_id="pro", payment_method="usdt_trc20")
    assert r.status_code == 201, r.text
    await _pay(c, r.json()["order"])
    await _until(c, subscriber, lambda s: s["plan"]["id"] == "pro", "subscribed to pro")
    after = await stats()
    assert moved(after, before, "pro") == {"active": 1, "past_due": 0, "orders": 1, "paid": 1}
    # The subscriber was on Basic until it paid: Basic has one more (the other user) and no order.
    assert moved(after, before, "basic") == {"active": 1, "past_due": 0, "orders": 0, "paid": 0}
    held = [p["active"] for p in after]
    assert held == sorted(held, reverse=True)  # the most held first
