"""Plans, bulk quantities and custom amounts end to end, over HTTP only: quotes priced and ordered
exactly, paid through the provider fakes, credited and invoiced; a Pro plan subscribed, renewed
a month later on the sandbox clock, upgraded to VIP mid-period (prorated charge and allowance),
downgraded at the period's end, then an unpaid renewal: past due, then Basic.

Alipay stands for the methods without recurring charges (a new order per period); a card plan
renews through Stripe Subscriptions' signed webhooks. What the ledger of lots shows: the
`receives` balance of quantities and custom amounts, and each plan period's allowance lot (its
expiry at the period's end, expired once a renewal started the next one), the upgrade's prorated
lot, and with a rollover plan the capped carry into the next month. All four services keep one
sandbox time: an advance on any of them moves all.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from paystream.devtools.client import WEBHOOK_SECRETS, Harness
from paystream.devtools.payers import (
    pay,
    send_stripe_event,
    stripe_renewal,
    stripe_subscription_started,
)
from paystream.devtools.stack import Stack
from paystream.devtools.stripe_events import (
    subscription_event,
    subscription_metadata,
    subscription_object,
)
from paystream.shared.money import Money

pytestmark = pytest.mark.e2e


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _quote(h: Harness, user: str, **body: Any) -> Any:
    return await h.http.post(f"{h.urls['checkout']}/v1/quotes", headers=h.auth(user), json=body)


async def _order(h: Harness, user: str, token: str, method: str = "alipay_qr") -> Any:
    return await h.http.post(
        f"{h.urls['checkout']}/v1/orders",
        headers={**h.auth(user), "Idempotency-Key": uuid.uuid4().hex},
        json={"quote": token, "payment_method": method},
    )


async def _sub(h: Harness, user: str) -> dict[str, Any]:
    r = await h.http.get(f"{h.urls['checkout']}/v1/subscription", headers=h.auth(user))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _post(h: Harness, user: str, path: str, **body: Any) -> Any:
    return await h.http.post(
        f"{h.urls['checkout']}/v1/subscriptions{path}",
        headers={**h.auth(user), "Idempotency-Key": uuid.uuid4().hex},
        json=body,
    )


async def _advance(h: Harness, by: str) -> None:
    r = await h.http.post(
        f"{h.urls['checkout']}/v1/sandbox/clock/advance",
        headers=h.auth("e2e-admin", admin=True),
        json={"by": by},
    )
    assert r.status_code == 200, r.text


async def _until(h: Harness, user: str, check: Any, timeout_s: float = 60.0) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        s = await _sub(h, user)
        return s if check(s) else None

    found: dict[str, Any] = await h.eventually(probe, timeout_s=timeout_s)
    return found


async def _lots(h: Harness, user: str) -> list[dict[str, Any]]:
    """The user's `receives` lots as the ledger shows them, on its (the shared) clock."""
    r = await h.http.get(
        f"{h.urls['ledger']}/v1/lots",
        headers=h.auth(user),
        params={"unit": "receives", "limit": 100},
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _lot_of(h: Harness, user: str, order_id: str) -> dict[str, Any]:
    async def granted() -> dict[str, Any] | None:
        return next((x for x in await _lots(h, user) if x["order_id"] == order_id), None)

    found: dict[str, Any] = await h.eventually(granted, timeout_s=45)
    return found


def _start(sub: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(sub["current_period"]["start"])


async def _pay(h: Harness, stack: Stack, order: dict[str, Any]) -> None:
    assert stack.sandbox is not None
    await pay(h.http, order, sandbox=stack.sandbox, stripe_webhook_secret=WEBHOOK_SECRETS[0])


async def _invoice(h: Harness, user: str, order_id: str) -> dict[str, Any]:
    async def one() -> dict[str, Any] | None:
        items = await h.invoices(user, order_id)
        return items[0] if items else None

    found: dict[str, Any] = await h.eventually(one, timeout_s=45)
    return found


async def _paid(h: Harness, user: str, order_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        o: dict[str, Any] = (await h.order(user, order_id)).json()
        return o if o["status"] == "paid" else None

    found: dict[str, Any] = await h.eventually(done, timeout_s=45)
    return found


async def test_twenty_receives_are_quoted_ordered_paid_credited_and_invoiced_exactly(
    harness: Harness, stack: Stack
) -> None:
    h, user = harness, _user()
    r = await _quote(h, user, product_id="receives", quantity=20, currency="CNY")
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["amount"] == {"value": "32.00", "currency": "CNY"}
    o = await _order(h, user, q["token"])
    assert o.status_code == 201, o.text
    order = o.json()
    assert (order["amount"], order["credits"], order["lines"]) == (q["amount"], 20, q["lines"])
    await _pay(h, stack, order)
    await _paid(h, user, order["order_id"])
    assert await h.eventually(lambda: _balance_is(h, user, 20), timeout_s=45)
    invoice = await _invoice(h, user, order["order_id"])
    assert invoice["amount"] == {"value": "32.00", "currency": "CNY"}
    assert invoice["credits"] == 20
    assert invoice["description"] == q["lines"][0]["description"]


async def test_a_custom_amount_buys_the_units_its_rate_gives(
    harness: Harness, stack: Stack
) -> None:
    h, user = harness, _user()
    r = await _quote(h, user, product_id="receives", amount={"value": "35.00", "currency": "CNY"})
    assert r.status_code == 201, r.text
    q = r.json()
    # 35.00 reaches the 32.00 rate (1.60 a receive): floor(35.00 / 1.60) = 21, never rounded up.
    assert (q["amount"], q["quantity"]) == ({"value": "35.00", "currency": "CNY"}, 21)
    order = (await _order(h, user, q["token"], method="wechat_pay_native")).json()
    assert order["amount"] == q["amount"]
    await _pay(h, stack, order)
    await _paid(h, user, order["order_id"])
    assert await h.eventually(lambda: _balance_is(h, user, 21), timeout_s=45)
    assert (await _invoice(h, user, order["order_id"]))["amount"] == q["amount"]


async def _balance_is(h: Harness, user: str, receives: int) -> bool:
    """The user's `receives` balance (the ledger of lots keeps each unit apart; `credits`, its
    default unit, stays untouched by these purchases)."""
    r = await h.http.get(f"{h.urls['ledger']}/v1/balance", headers=h.auth(user))
    assert r.status_code == 200, r.text
    body = r.json()
    by_unit = {b["unit"]: b["available"] for b in body["balances"]}
    return body["credits"] == 0 and by_unit.get("receives") == receives


def _altered(token: str, **claims: Any) -> str:
    head, body, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


async def test_bad_purchases_are_4xx_with_their_code_and_charge_nothing(harness: Harness) -> None:
    h, user = harness, _user()
    bad_quotes = [
        ({"product_id": "receives", "quantity": 0}, "quantity_out_of_range"),
        ({"product_id": "receives", "quantity": 101}, "quantity_out_of_range"),
        (
            {"product_id": "receives", "amount": {"value": "1.00", "currency": "CNY"}},
            "amount_out_of_range",
        ),
        (
            {"product_id": "receives", "amount": {"value": "10.50", "currency": "CNY"}},
            "amount_off_step",
        ),
    ]
    for body, code in bad_quotes:
        r = await _quote(h, user, **body)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert r.json()["error"]["code"] == code, (body, r.text)

    token = (await _quote(h, user, product_id="receives", quantity=20)).json()["token"]
    for forged in (_altered(token, amt=1), _altered(token, units=100)):
        r = await _order(h, user, forged)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "quote_invalid"

    cases = [
        ("", {"plan_id": "gold", "payment_method": "alipay_qr"}, 422, "unknown_plan"),
        ("", {"plan_id": "basic", "payment_method": "alipay_qr"}, 409, "plan_unchanged"),
        ("/change", {"plan_id": "vip"}, 409, "no_paid_plan"),
    ]
    for path, body, status, code in cases:
        r = await _post(h, user, path, **body)
        assert r.status_code == status, (path, body, r.text)
        assert r.json()["error"]["code"] == code, (path, body, r.text)
    orders = await h.http.get(f"{h.urls['checkout']}/v1/orders", headers=h.auth(user))
    assert orders.status_code == 200, orders.text
    assert [o for o in orders.json()["items"] if o["kind"] != "allowance"] == []


async def test_pro_renewed_upgraded_downgraded_then_unpaid_drops_to_basic(
    harness: Harness, stack: Stack
) -> None:
    h, user = harness, _user()
    assert (await _sub(h, user))["plan"]["id"] == "basic"  # the default, no payment

    r = await _post(h, user, "", plan_id="pro", payment_method="alipay_qr")
    assert r.status_code == 201, r.text
    first = r.json()["order"]
    assert (first["kind"], first["amount"]) == (
        "subscription",
        {"value": "29.00", "currency": "CNY"},
    )
    second = await _post(h, user, "", plan_id="vip", payment_method="alipay_qr")
    assert second.status_code == 409  # one plan at a time (its first order is pending)
    await _pay(h, stack, first)
    sub = await _until(h, user, lambda s: s["plan"]["id"] == "pro")
    assert (sub["billing"], sub["status"]) == ("manual", "active")
    assert (await _invoice(h, user, first["order_id"]))["amount"]["value"] == "29.00"
    again = await _post(h, user, "", plan_id="vip", payment_method="alipay_qr")
    assert again.json()["error"]["code"] == "subscription_exists"
    same = await _post(h, user, "/change", plan_id="pro")
    assert same.json()["error"]["code"] == "plan_unchanged"

    # A month later: reminded, renewed (paid ahead), then the next period starts.
    end = datetime.fromisoformat(sub["current_period"]["end"])
    left = (end - datetime.fromisoformat(sub["now"])).total_seconds()
    await _advance(h, f"PT{int(left) - 2 * 86400}S")
    renewal = await _post(h, user, "/renew")
    assert renewal.status_code == 201, renewal.text
    renewal_order = renewal.json()["order"]
    assert (renewal_order["kind"], renewal_order["amount"]["value"]) == ("renewal", "29.00")
    await _pay(h, stack, renewal_order)
    await _until(h, user, lambda s: bool(s["renewal"] and s["renewal"]["paid"]))
    await _advance(h, "P2DT1H")
    sub = await _until(h, user, lambda s: _start(s) == end)
    assert (sub["plan"]["id"], sub["status"]) == ("pro", "active")
    assert (await _invoice(h, user, renewal_order["order_id"]))["amount"]["value"] == "29.00"
    # The ledger, on the same sandbox time: the first month's allowance expired at its end, the
    # renewal's is a new lot until the new period's end (no rollover: Pro has no cap).
    new_end = datetime.fromisoformat(sub["current_period"]["end"])
    renewed = await _lot_of(h, user, renewal_order["order_id"])
    assert (renewed["source"], renewed["credits"], renewed["status"]) == (
        "plan_allowance",
        20,
        "active",
    )
    assert datetime.fromisoformat(renewed["expires_at"]) == new_end
    old = await _lot_of(h, user, first["order_id"])
    assert (old["status"], datetime.fromisoformat(old["expires_at"])) == ("expired", end)
    assert [x for x in await _lots(h, user) if x["source"] == "rollover"] == []

    # Mid-period, upgrade to VIP at a pinned preview: prorated charge and allowance, rounded down.
    await _advance(h, "P10D")
    p = (await _post(h, user, "/preview", plan_id="vip")).json()
    left_s, length = p["proration"]["seconds_left"], p["proration"]["seconds_in_period"]
    assert 0 < left_s < length
    charge = Money((5900 - 2900) * left_s // length, "CNY")
    assert p["charge"] == {"value": charge.format(), "currency": "CNY"}
    assert p["allowance_delta"] == (100 - 20) * left_s // length
    changed = await _post(h, user, "/change", plan_id="vip", preview=p["token"])
    assert changed.status_code == 200, changed.text
    upgrade = changed.json()["order"]
    assert (upgrade["amount"], upgrade["credits"]) == (p["charge"], p["allowance_delta"])
    await _pay(h, stack, upgrade)
    sub = await _until(h, user, lambda s: s["plan"]["id"] == "vip")
    period_end = datetime.fromisoformat(sub["current_period"]["end"])
    assert period_end == datetime.fromisoformat(p["effective_at"]) + timedelta(seconds=left_s)
    assert (await _invoice(h, user, upgrade["order_id"]))["amount"] == p["charge"]
    topped = await _lot_of(h, user, upgrade["order_id"])  # the prorated allowance, this period
    assert (topped["credits"], topped["status"]) == (p["allowance_delta"], "active")
    assert datetime.fromisoformat(topped["expires_at"]) == period_end

    # Downgrade: nothing charged now, Pro from the period's end.
    down = await _post(h, user, "/change", plan_id="pro")
    assert down.status_code == 200, down.text
    assert (down.json()["effective"], down.json()["order"]) == ("period_end", None)
    after = await _sub(h, user)
    assert (after["plan"]["id"], after["next_plan_id"]) == ("vip", "pro")
    # The next period is Pro's: its renewal is priced at Pro, due at this period's end.
    assert after["renewal"] is not None, after
    assert (after["renewal"]["plan_id"], after["renewal"]["amount"]["value"]) == ("pro", "29.00")
    assert datetime.fromisoformat(after["renewal"]["due_at"]) == period_end

    # That renewal is never paid: past due at the period's end, Basic after the grace period.
    now = datetime.fromisoformat((await _sub(h, user))["now"])
    await _advance(h, f"PT{int((period_end - now).total_seconds()) + 60}S")
    sub = await _until(h, user, lambda s: s["status"] == "past_due")
    assert sub["grace_ends_at"] is not None
    await _advance(h, "P4D")
    sub = await _until(h, user, lambda s: s["plan"]["id"] == "basic")
    assert (sub["status"], sub["billing"]) == ("active", "free")
    changes = [c["change"] for c in reversed(sub["history"])]
    assert changes[-2:] == ["past_due", "dropped"], changes


async def _stripe(h: Harness, stack: Stack, event: dict[str, Any]) -> None:
    assert stack.sandbox is not None
    r = await send_stripe_event(h.http, stack.sandbox.webhook_ingest_url, event, WEBHOOK_SECRETS[0])
    assert r.status_code == 200, r.text


async def test_a_card_plan_renews_fails_and_ends_through_stripe_s_signed_webhooks(
    harness: Harness, stack: Stack
) -> None:
    """stripe-mock keeps no state: Stripe's side (the subscription's invoices and its end) is
    played by the signed webhooks Stripe would send, through webhook-ingest."""
    h, user = harness, _user()
    r = await _post(h, user, "", plan_id="pro", payment_method="stripe_checkout")
    assert r.status_code == 201, r.text
    first = r.json()["order"]
    assert first["payment_url"], "stripe-mock took the subscription-mode Checkout Session"
    await _pay(h, stack, first)  # checkout.session.completed, mode subscription
    sub = await _until(h, user, lambda s: s["plan"]["id"] == "pro")
    assert sub["billing"] == "stripe"
    stripe_sub = f"sub_{uuid.uuid4().hex[:14]}"
    await _stripe(
        h, stack, stripe_subscription_started(first, sub, stripe_subscription_id=stripe_sub)
    )
    sub = await _until(h, user, lambda s: s["stripe_subscription_id"] == stripe_sub)
    assert (await _invoice(h, user, first["order_id"]))["amount"]["value"] == "29.00"

    # Upgrade: charged to the card on a Stripe invoice that names the order.
    changed = await _post(h, user, "/change", plan_id="vip")
    assert changed.status_code == 200, changed.text
    upgrade = changed.json()["order"]
    assert upgrade["payment_method"] == "stripe_invoice"
    await _pay(h, stack, upgrade)  # invoice.paid, billing_reason manual
    await _until(h, user, lambda s: s["plan"]["id"] == "vip")
    assert (await _invoice(h, user, upgrade["order_id"]))["amount"] == upgrade["amount"]

    # The period ends; Stripe charges the renewal at VIP's price (invoice.paid, twice).
    end = datetime.fromisoformat(sub["current_period"]["end"])
    now = datetime.fromisoformat((await _sub(h, user))["now"])
    await _advance(h, f"PT{int((end - now).total_seconds()) + 5}S")
    paid = stripe_renewal(sub, amount=Money(5900, "CNY"), plan_id="vip")
    await _stripe(h, stack, paid)
    await _stripe(h, stack, paid)
    sub = await _until(h, user, lambda s: _start(s) == end)
    assert (sub["plan"]["id"], sub["status"]) == ("vip", "active")
    orders = await h.http.get(f"{h.urls['checkout']}/v1/orders", headers=h.auth(user))
    renewals = [o for o in orders.json()["items"] if o["kind"] == "renewal"]
    assert len(renewals) == 1, renewals
    assert (await _invoice(h, user, renewals[0]["order_id"]))["amount"]["value"] == "59.00"

    # The next renewal fails: past due while Stripe retries; after its last retry Stripe ends
    # the subscription: Basic.
    retry = int(datetime.fromisoformat(sub["now"]).timestamp()) + 3 * 86400
    failed = stripe_renewal(
        sub, amount=Money(5900, "CNY"), plan_id="vip", paid=False, next_payment_attempt=retry
    )
    await _stripe(h, stack, failed)
    await _until(h, user, lambda s: s["status"] == "past_due")
    meta = subscription_metadata(
        subscription_id=sub["subscription_id"], user_id=user, plan_id="vip"
    )
    ended = subscription_object(subscription_id=stripe_sub, metadata=meta, status="canceled")
    await _stripe(h, stack, subscription_event("customer.subscription.deleted", ended))
    sub = await _until(h, user, lambda s: s["plan"]["id"] == "basic")
    assert (sub["status"], sub["billing"]) == ("active", "free")
    changes = [c["change"] for c in reversed(sub["history"])]
    assert changes[-2:] == ["past_due", "provider_ended"], changes


async def _clock(h: Harness, service: str) -> dict[str, Any]:
    r = await h.http.get(f"{h.urls[service]}/v1/sandbox/clock", headers=h.auth("e2e-admin"))
    assert r.status_code == 200, (service, r.text)
    body: dict[str, Any] = r.json()
    return body


SERVICES = ("checkout", "webhook-ingest", "ledger", "invoicing")


async def test_the_four_services_keep_one_sandbox_time(harness: Harness) -> None:
    h = harness
    before = {s: (await _clock(h, s))["offset_seconds"] for s in SERVICES}
    assert all(c["sandbox"] for c in [await _clock(h, s) for s in SERVICES])
    # An advance on invoicing (any service will do) moves every service's clock.
    r = await h.http.post(
        f"{h.urls['invoicing']}/v1/sandbox/clock/advance",
        headers=h.auth("e2e-admin", admin=True),
        json={"by": "PT1H"},
    )
    assert r.status_code == 200, r.text
    moved = r.json()["offset_seconds"]
    assert moved >= max(before.values()) + 3600

    async def agree() -> dict[str, float] | None:
        now = {s: (await _clock(h, s))["offset_seconds"] for s in SERVICES}
        return now if len(set(now.values())) == 1 else None

    offsets = await h.eventually(agree, timeout_s=15)
    assert set(offsets.values()) == {moved}
    times = [datetime.fromisoformat((await _clock(h, s))["now"]) for s in SERVICES]
    assert max(times) - min(times) < timedelta(seconds=5)


async def test_a_rollover_plan_carries_what_the_month_left_up_to_its_cap(
    harness: Harness, stack: Stack
) -> None:
    """`pro_rollover` (the e2e catalog's Pro with a rollover cap of 10): 5 of the month's 20
    receives are spent, so more than the cap is left; at the renewal 10 carry into the new month
    as a `rollover` lot that expires with the new allowance, and the old allowance expired."""
    h, user = harness, _user()
    r = await _post(h, user, "", plan_id="pro_rollover", payment_method="alipay_qr")
    assert r.status_code == 201, r.text
    first = r.json()["order"]
    await _pay(h, stack, first)
    sub = await _until(h, user, lambda s: s["plan"]["id"] == "pro_rollover")
    plans = (await h.http.get(f"{h.urls['checkout']}/v1/plans")).json()["plans"]
    assert {p["id"]: p["rollover_cap"] for p in plans}["pro_rollover"] == 10
    await _lot_of(h, user, first["order_id"])
    spent = await h.http.post(
        f"{h.urls['ledger']}/v1/spend",
        headers={**h.auth(user), "Idempotency-Key": uuid.uuid4().hex},
        json={"credits": 5, "reason": "e2e:receive", "unit": "receives"},
    )
    assert spent.status_code == 201, spent.text

    end = datetime.fromisoformat(sub["current_period"]["end"])
    left = (end - datetime.fromisoformat(sub["now"])).total_seconds()
    await _advance(h, f"PT{int(left) - 2 * 86400}S")
    renewal = (await _post(h, user, "/renew")).json()["order"]
    await _pay(h, stack, renewal)
    await _until(h, user, lambda s: bool(s["renewal"] and s["renewal"]["paid"]))
    await _advance(h, "P2DT1H")
    sub = await _until(h, user, lambda s: _start(s) == end)
    new_end = datetime.fromisoformat(sub["current_period"]["end"])

    renewed = await _lot_of(h, user, renewal["order_id"])
    assert (renewed["credits"], renewed["status"]) == (20, "active")

    async def carried() -> dict[str, Any] | None:
        return next((x for x in await _lots(h, user) if x["source"] == "rollover"), None)

    carry = await h.eventually(carried, timeout_s=45)
    assert (carry["credits"], carry["status"], carry["order_id"]) == (10, "active", None)
    assert carry["expires_at"] == renewed["expires_at"]
    assert datetime.fromisoformat(carry["expires_at"]) == new_end
    old = await _lot_of(h, user, first["order_id"])
    assert old["status"] == "expired"
    assert old["consumed"] + old["expired"] == 20
    assert old["expired"] >= 15  # what the month left: more than the cap, so the cap applies
