"""Lots over HTTP, in sandbox mode, on the real PostgreSQL and Kafka: balances per unit with held
credits and the next expiry, expiry exact at read time and written by the job once, holds
(capture, release, time out), the consumption order, operators' grants and voids, low-balance
thresholds, history filters, balances as they were, and the 4xx each refuses."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from ledgerkit import JWT, LedgerApp, assert_books_balance

from paystream.ledger.app import create_app
from paystream.ledger.settings import LedgerSettings
from paystream.shared.events import (
    BalanceLowV1,
    CreditsExpiredV1,
    CreditsExpiringV1,
    Envelope,
    GrantSpec,
)

pytestmark = pytest.mark.integration


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def _code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])


async def _balance(ledger: LedgerApp, user: str, **params: Any) -> dict[str, Any]:
    body = await ledger.get("/v1/balance", user, **params)
    return {b["unit"]: b for b in body["balances"]}


async def _hold(
    ledger: LedgerApp, user: str, credits: Any, ttl: Any = 60, key: str | None = None, **extra: Any
) -> httpx.Response:
    return await ledger.http.post(
        "/v1/holds",
        headers=ledger.auth(user, key=key or str(uuid.uuid4())),
        json={"credits": credits, "ttl_seconds": ttl, **extra},
    )


async def _ledger_events(ledger: LedgerApp, kafka_bootstrap: str, want: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        ledger.settings.topics.ledger_events,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    out: list[Envelope] = []
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while len(out) < want and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                out += [Envelope.from_bytes(r.value or b"") for r in recs]
    finally:
        await consumer.stop()
    return out


async def test_a_purchase_expires_six_months_and_a_day_later_exactly_once(
    ledger: LedgerApp, kafka_bootstrap: str
) -> None:
    user = _user()
    [lot] = await ledger.grant(user, GrantSpec(quantity=1100, validity="P6M", cost_minor=10_000))
    before = await _balance(ledger, user)
    assert before["credits"]["available"] == 1100
    expiry = before["credits"]["next_expiry"]
    assert expiry["credits"] == 1100
    assert (await ledger.spend(user, 100)).status_code == 201

    # Six calendar months after the payment, clamped to the month's end.
    expires_at = datetime.fromisoformat(expiry["expires_at"])
    assert expires_at.date() > (ledger.clock.now() + timedelta(days=180)).date()
    # Half a day before: the credits still count, and the 1-day notice goes out.
    until = expires_at - ledger.clock.now() - timedelta(hours=12)
    await ledger.advance(f"PT{int(until.total_seconds())}S")
    jobs = await ledger.run_jobs()
    assert (jobs["lots_expired"], jobs["notices_sent"]) == (0, 1)
    assert (await _balance(ledger, user))["credits"]["available"] == 1000
    # Exact at read time: six months and a day after, the lot no longer counts, before any job
    # ran.
    await ledger.advance("PT12H")
    await ledger.advance("P1D")
    assert (await _balance(ledger, user))["credits"]["available"] == 0
    r = await ledger.spend(user, 1)
    assert (r.status_code, _code(r)) == (409, "insufficient_credits")

    assert (await ledger.run_jobs())["lots_expired"] == 1
    assert (await ledger.run_jobs())["lots_expired"] == 0  # once
    lots = (await ledger.get("/v1/lots", user))["items"]
    assert [(x["id"], x["status"], x["remaining"], x["expired"], x["consumed"]) for x in lots] == [
        (str(lot), "expired", 0, 1000, 100)
    ]
    expired = (await ledger.get("/v1/transactions", user, type="expire"))["items"]
    [entry] = expired
    assert (entry["credits"], entry["balance_after"], entry["lots"]) == (
        -1000,
        0,
        [{"lot_id": str(lot), "credits": 1000}],
    )
    # Breakage valued at cost basis: 1,000 of 1,100 credits that cost 100.00.
    cost = await ledger.pool.fetchrow(
        "SELECT cost_minor, cost_currency FROM transactions WHERE kind = 'expire'"
    )
    assert (cost["cost_minor"], cost["cost_currency"]) == (10_000 * 1000 // 1100, "CNY")
    events = await _ledger_events(ledger, kafka_bootstrap, want=4)
    types = [e.type for e in events]
    assert CreditsExpiredV1.TYPE in types
    [ev] = [e.payload_as(CreditsExpiredV1) for e in events if e.type == CreditsExpiredV1.TYPE]
    assert (ev.lot_id, ev.credits, ev.cost_minor, ev.unit) == (lot, 1000, 9090, "credits")
    notices = [e.payload_as(CreditsExpiringV1) for e in events if e.type == CreditsExpiringV1.TYPE]
    assert [(n.lot_id, n.notice) for n in notices] == [(lot, "1d")]
    await assert_books_balance(ledger.pool)


async def test_two_purchases_a_month_apart_are_consumed_oldest_expiry_first(
    ledger: LedgerApp,
) -> None:
    user = _user()
    [first] = await ledger.grant(user, GrantSpec(quantity=100, validity="P6M", cost_minor=1000))
    await ledger.advance("P1M")
    [second] = await ledger.grant(user, GrantSpec(quantity=100, validity="P6M", cost_minor=1000))
    [never] = await ledger.grant(user, GrantSpec(quantity=100, cost_minor=1000))
    r = await ledger.spend(user, 150)
    assert r.status_code == 201, r.text
    assert r.json()["lots"] == [
        {"lot_id": str(first), "credits": 100},
        {"lot_id": str(second), "credits": 50},
    ]
    # The next spend takes what is left of the second, then the lot that never expires.
    again = await ledger.spend(user, 150)
    assert again.status_code == 201
    assert again.json()["lots"] == [
        {"lot_id": str(second), "credits": 50},
        {"lot_id": str(never), "credits": 100},
    ]
    balance = (await _balance(ledger, user))["credits"]
    assert balance["available"] == 0
    lots = {x["id"]: x for x in (await ledger.get("/v1/lots", user))["items"]}
    assert lots[str(never)]["remaining"] == 0
    assert lots[str(first)]["status"] == "consumed"


async def test_a_spend_replay_is_byte_for_byte_with_its_lots(ledger: LedgerApp) -> None:
    user = _user()
    await ledger.grant(user, 10, 10)
    first = await ledger.spend(user, 15, key="k")
    again = await ledger.spend(user, 15, key="k")
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again.headers["idempotent-replayed"] == "true"
    assert len(first.json()["lots"]) == 2


async def test_a_hold_reserves_then_capture_spends_and_releases_the_rest(
    ledger: LedgerApp, kafka_bootstrap: str
) -> None:
    user = _user()
    a, b = await ledger.grant(
        user,
        GrantSpec(quantity=50, validity="P1M", cost_minor=500),
        GrantSpec(quantity=100, cost_minor=1000),
    )
    r = await _hold(ledger, user, 80, ttl=600, key="job-1", reason="video call")
    assert r.status_code == 201, r.text
    hold = r.json()
    assert (hold["credits"], hold["status"], hold["reason"]) == (80, "open", "video call")
    assert hold["lots"] == [{"lot_id": str(a), "credits": 50}, {"lot_id": str(b), "credits": 30}]
    bal = (await _balance(ledger, user))["credits"]
    assert (bal["available"], bal["held"]) == (70, 80)
    # Held credits are not spendable.
    r = await ledger.spend(user, 71)
    assert (r.status_code, _code(r)) == (409, "insufficient_credits")
    # The same key replays the hold; another body with it is refused.
    again = await _hold(ledger, user, 80, ttl=600, key="job-1", reason="video call")
    assert (again.status_code, again.json()["hold_id"]) == (201, hold["hold_id"])
    assert again.headers["idempotent-replayed"] == "true"
    other = await _hold(ledger, user, 81, ttl=600, key="job-1", reason="video call")
    assert (other.status_code, _code(other)) == (422, "idempotency_key_reused")

    path = f"/v1/holds/{hold['hold_id']}"
    r = await ledger.http.post(f"{path}/capture", headers=ledger.auth(user), json={"credits": 81})
    assert (r.status_code, _code(r)) == (422, "capture_exceeds_hold")
    r = await ledger.http.post(f"{path}/capture", headers=ledger.auth(user), json={"credits": 60})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["captured"], done["released"]) == ("captured", 60, 20)
    bal = (await _balance(ledger, user))["credits"]
    assert (bal["available"], bal["held"]) == (90, 0)
    # Capturing the same again answers the same; releasing a captured hold is refused.
    r = await ledger.http.post(f"{path}/capture", headers=ledger.auth(user), json={"credits": 60})
    assert (r.status_code, r.json()["status"]) == (200, "captured")
    r = await ledger.http.post(f"{path}/release", headers=ledger.auth(user))
    assert (r.status_code, _code(r)) == (409, "hold_not_open")
    # Someone else's hold does not exist for them.
    r = await ledger.http.get(path, headers=ledger.auth(_user()))
    assert (r.status_code, _code(r)) == (404, "hold_not_found")

    history = (await ledger.get("/v1/transactions", user))["items"]
    assert [(i["kind"], i["credits"], i["balance_after"]) for i in history[:3]] == [
        ("release", 20, 90),
        ("capture", -60, 90),
        ("hold", -80, 70),
    ]
    assert history[1]["lots"] == [
        {"lot_id": str(a), "credits": 50},
        {"lot_id": str(b), "credits": 10},
    ]
    await assert_books_balance(ledger.pool)


async def test_a_hold_that_times_out_releases_and_cannot_be_captured(ledger: LedgerApp) -> None:
    user = _user()
    await ledger.grant(user, 100)
    hold = (await _hold(ledger, user, 40, ttl=30)).json()
    path = f"/v1/holds/{hold['hold_id']}"
    await ledger.advance("PT31S")
    # Its time ran out: shown expired at once, a capture is refused with a clear error.
    r = await ledger.http.get(path, headers=ledger.auth(user))
    assert r.json()["status"] == "expired"
    r = await ledger.http.post(f"{path}/capture", headers=ledger.auth(user), json={"credits": 1})
    assert (r.status_code, _code(r)) == (409, "hold_expired")
    assert (await ledger.run_jobs())["holds_released"] == 1
    bal = (await _balance(ledger, user))["credits"]
    assert (bal["available"], bal["held"]) == (100, 0)
    r = await ledger.http.get(path, headers=ledger.auth(user))
    assert (r.json()["status"], r.json()["released"]) == ("expired", 40)
    released = (await ledger.get("/v1/transactions", user, type="release"))["items"]
    assert [i["credits"] for i in released] == [40]
    # Releasing it again answers the same.
    r = await ledger.http.post(f"{path}/release", headers=ledger.auth(user))
    assert (r.status_code, r.json()["status"]) == (200, "expired")


async def test_held_credits_do_not_expire_under_an_open_hold(ledger: LedgerApp) -> None:
    """The held part of a lot that expires is still capturable until the hold's own time; what
    the hold releases from it then expires with it."""
    user = _user()
    [lot] = await ledger.grant(user, GrantSpec(quantity=100, validity="PT1H", cost_minor=100))
    hold = (await _hold(ledger, user, 60, ttl=3 * 3600)).json()
    await ledger.advance("PT2H")
    assert (await ledger.run_jobs())["lots_expired"] == 0  # waits for the hold
    bal = (await _balance(ledger, user))["credits"]
    assert (bal["available"], bal["held"]) == (0, 60)
    r = await ledger.http.post(
        f"/v1/holds/{hold['hold_id']}/capture", headers=ledger.auth(user), json={"credits": 25}
    )
    assert r.status_code == 200, r.text
    assert (await ledger.run_jobs())["lots_expired"] == 1
    [x] = (await ledger.get("/v1/lots", user))["items"]
    assert (x["id"], x["status"], x["consumed"], x["expired"], x["remaining"]) == (
        str(lot),
        "expired",
        25,
        75,
        0,
    )
    await assert_books_balance(ledger.pool)


async def test_balance_as_it_was_at_a_time(ledger: LedgerApp) -> None:
    user = _user()
    await ledger.grant(user, GrantSpec(quantity=100, validity="P1M", cost_minor=100))
    t_granted = ledger.clock.now()
    await ledger.advance("PT1M")
    assert (await ledger.spend(user, 30)).status_code == 201
    t_spent = ledger.clock.now()
    await ledger.advance("PT1M")
    await _hold(ledger, user, 20)
    await ledger.advance("P2M")

    def at(t: datetime) -> str:
        return t.isoformat()

    now = await _balance(ledger, user)
    assert (now["credits"]["available"], now["credits"]["held"]) == (0, 20)
    then = await _balance(ledger, user, at=at(t_granted + timedelta(seconds=1)))
    assert then["credits"]["available"] == 100
    assert then["credits"]["next_expiry"]["credits"] == 100
    after_spend = await _balance(ledger, user, at=at(t_spent + timedelta(seconds=1)))
    assert (after_spend["credits"]["available"], after_spend["credits"]["held"]) == (70, 0)
    before = await _balance(ledger, user, at=at(t_granted - timedelta(seconds=1)))
    assert before["credits"]["available"] == 0
    r = await ledger.http.get(
        "/v1/balance",
        headers=ledger.auth(user),
        params={"at": at(ledger.clock.now() + timedelta(days=1))},
    )
    assert (r.status_code, _code(r)) == (422, "invalid_time")
    r = await ledger.http.get(
        "/v1/balance", headers=ledger.auth(user), params={"at": "2026-01-01T00:00:00"}
    )
    assert (r.status_code, _code(r)) == (422, "invalid_time")
    r = await ledger.http.get("/v1/balance", headers=ledger.auth(user), params={"at": "yesterday"})
    assert (r.status_code, _code(r)) == (422, "validation_error")


async def test_units_are_kept_apart(ledger: LedgerApp) -> None:
    user = _user()
    await ledger.grant(
        user,
        GrantSpec(quantity=100, cost_minor=100),
        GrantSpec(unit="receives", quantity=3, cost_minor=600),
    )
    balances = await _balance(ledger, user)
    assert {u: b["available"] for u, b in balances.items()} == {"credits": 100, "receives": 3}
    r = await ledger.spend(user, 4, unit="receives")
    assert (r.status_code, _code(r)) == (409, "insufficient_credits")
    r = await ledger.spend(user, 3, unit="receives")
    assert (r.status_code, r.json()["unit"], r.json()["balance_after"]) == (201, "receives", 0)
    assert (await _balance(ledger, user))["credits"]["available"] == 100
    r = await ledger.spend(user, 1, unit="minutes")
    assert (r.status_code, _code(r)) == (422, "unknown_unit")
    r = await ledger.http.get("/v1/balance", headers=ledger.auth(user), params={"unit": "minutes"})
    assert (r.status_code, _code(r)) == (422, "unknown_unit")
    only = await ledger.get("/v1/balance", user, unit="receives")
    assert [b["unit"] for b in only["balances"]] == ["receives"]
    lots = await ledger.get("/v1/lots", user, unit="receives")
    assert [x["unit"] for x in lots["items"]] == ["receives"]
    history = await ledger.get("/v1/transactions", user, unit="receives")
    assert [i["kind"] for i in history["items"]] == ["spend", "grant"]


async def test_operators_grant_and_void_lots_once_per_key_and_are_named(
    ledger: LedgerApp,
) -> None:
    user, ops = _user(), ledger.auth("ops-1", admin=True, key="grant-1")
    body = {"user_id": user, "credits": 50, "source": "promotion", "validity": "P30D",
            "reason": "launch week", "priority": 10}  # fmt: skip
    r = await ledger.http.post("/v1/admin/grants", headers=ops, json=body)
    assert r.status_code == 201, r.text
    granted = r.json()
    assert (granted["kind"], granted["credits"], granted["actor"]) == ("adjustment", 50, "ops-1")
    again = await ledger.http.post("/v1/admin/grants", headers=ops, json=body)
    assert again.status_code == 201
    assert again.content == r.content
    other = await ledger.http.post("/v1/admin/grants", headers=ops, json={**body, "credits": 51})
    assert (other.status_code, _code(other)) == (422, "idempotency_key_reused")
    r = await ledger.http.post("/v1/admin/grants", headers=ledger.auth(user, key="x"), json=body)
    assert (r.status_code, _code(r)) == (403, "forbidden")
    [lot] = (await ledger.get("/v1/lots", user))["items"]
    assert (lot["source"], lot["priority"], lot["validity_rule"], lot["cost"]) == (
        "promotion",
        10,
        "P30D",
        None,
    )

    void = ledger.auth("ops-2", admin=True, key="void-1")
    r = await ledger.http.post(
        f"/v1/admin/lots/{lot['id']}/void", headers=void, json={"reason": "abuse"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["credits"], r.json()["actor"]) == ("void", -50, "ops-2")
    assert (await _balance(ledger, user))["credits"]["available"] == 0
    again = await ledger.http.post(
        f"/v1/admin/lots/{lot['id']}/void", headers=void, json={"reason": "abuse"}
    )
    assert (again.status_code, again.content) == (200, r.content)
    r = await ledger.http.post(
        f"/v1/admin/lots/{lot['id']}/void",
        headers=ledger.auth("ops-2", admin=True, key="void-2"),
        json={"reason": "again"},
    )
    assert (r.status_code, _code(r)) == (409, "lot_not_voidable")
    [lot] = (await ledger.get("/v1/lots", user, status="voided"))["items"]
    assert (lot["voided"], lot["remaining"]) == (50, 0)
    r = await ledger.http.post(
        f"/v1/admin/lots/{uuid.uuid4()}/void",
        headers=ledger.auth("ops-2", admin=True, key="void-3"),
        json={"reason": "x"},
    )
    assert (r.status_code, _code(r)) == (404, "lot_not_found")
    await assert_books_balance(ledger.pool)


async def test_a_lot_under_a_hold_cannot_be_voided(ledger: LedgerApp) -> None:
    user = _user()
    [lot] = await ledger.grant(user, 10)
    await _hold(ledger, user, 5)
    r = await ledger.http.post(
        f"/v1/admin/lots/{lot}/void",
        headers=ledger.auth("ops", admin=True, key="v"),
        json={"reason": "x"},
    )
    assert (r.status_code, _code(r)) == (409, "lot_not_voidable")
    assert r.json()["error"]["details"]["held"] == 5


async def test_a_low_balance_is_announced_once_per_crossing(
    ledger: LedgerApp, kafka_bootstrap: str
) -> None:
    user = _user()
    await ledger.grant(user, 100)
    r = await ledger.http.put(
        "/v1/balance-thresholds/credits", headers=ledger.auth(user), json={"threshold": 50}
    )
    assert (r.status_code, r.json()["below"], r.json()["available"]) == (200, False, 100)
    for credits in (40, 20, 5):  # 60, then below at 40, still below at 35
        assert (await ledger.spend(user, credits)).status_code == 201
    await ledger.grant(user, 100)  # back up to 135: re-armed
    assert (await ledger.spend(user, 90)).status_code == 201  # 45: below again
    listed = await ledger.get("/v1/balance-thresholds", user)
    assert [(i["unit"], i["threshold"], i["below"], i["available"]) for i in listed["items"]] == [
        ("credits", 50, True, 45)
    ]
    events = await _ledger_events(ledger, kafka_bootstrap, want=9)
    lows = [e.payload_as(BalanceLowV1) for e in events if e.type == BalanceLowV1.TYPE]
    assert [(x.available, x.threshold, x.unit) for x in lows] == [
        (40, 50, "credits"),
        (45, 50, "credits"),
    ]
    # Removing it; someone else's is not found; a bad one is refused.
    r = await ledger.http.put(
        "/v1/balance-thresholds/credits", headers=ledger.auth(user), json={"threshold": None}
    )
    assert (r.status_code, r.json()["threshold"]) == (200, None)
    r = await ledger.http.put(
        "/v1/balance-thresholds/credits",
        headers=ledger.auth(_user()),
        params={"user_id": user},
        json={"threshold": 1},
    )
    assert (r.status_code, _code(r)) == (404, "not_found")
    for bad in ({"threshold": -1}, {"threshold": "5"}, {}, {"threshold": 2**60}):
        r = await ledger.http.put(
            "/v1/balance-thresholds/credits", headers=ledger.auth(user), json=bad
        )
        assert (r.status_code, _code(r)) == (422, "validation_error"), bad
    r = await ledger.http.put(
        "/v1/balance-thresholds/minutes", headers=ledger.auth(user), json={"threshold": 1}
    )
    assert (r.status_code, _code(r)) == (422, "unknown_unit")


async def test_history_filters_by_type_unit_and_time(ledger: LedgerApp) -> None:
    user = _user()
    await ledger.grant(user, 100)
    start = ledger.clock.now()
    await ledger.advance("PT1H")
    await ledger.spend(user, 1)
    middle = ledger.clock.now()
    await ledger.advance("PT1H")
    await ledger.spend(user, 2)
    await _hold(ledger, user, 3)
    items = (await ledger.get("/v1/transactions", user, type=["spend", "hold"]))["items"]
    assert [(i["kind"], i["credits"]) for i in items] == [
        ("hold", -3),
        ("spend", -2),
        ("spend", -1),
    ]
    window = await ledger.get(
        "/v1/transactions",
        user,
        **{"from": (start + timedelta(minutes=1)).isoformat(), "to": middle.isoformat()},
    )
    assert [i["credits"] for i in window["items"]] == [-1]
    for params in ({"type": "gift"}, {"unit": "Credits"}, {"from": "soon"}):
        r = await ledger.http.get("/v1/transactions", headers=ledger.auth(user), params=params)
        assert (r.status_code, _code(r)) == (422, "validation_error"), params
    r = await ledger.http.get(
        "/v1/transactions", headers=ledger.auth(user), params={"to": "2026-01-01T00:00:00"}
    )
    assert (r.status_code, _code(r)) == (422, "invalid_time")


async def test_bad_spends_and_holds_are_refused_with_4xx(ledger: LedgerApp) -> None:
    user = _user()
    await ledger.grant(user, 100)
    for credits in (0, -1, 2**53 + 1, "1", 1.0, None):
        r = await ledger.spend(user, credits)
        assert (r.status_code, _code(r)) == (422, "validation_error"), credits
        r = await _hold(ledger, user, credits)
        assert (r.status_code, _code(r)) == (422, "validation_error"), credits
    for ttl in (0, -5, 7 * 24 * 3600 + 1, "60"):
        r = await _hold(ledger, user, 1, ttl=ttl)
        assert (r.status_code, _code(r)) == (422, "validation_error"), ttl
    r = await _hold(ledger, user, 1, unit="Not A Unit")
    assert (r.status_code, _code(r)) == (422, "validation_error")
    r = await _hold(ledger, user, 1, unit="minutes")
    assert (r.status_code, _code(r)) == (422, "unknown_unit")
    r = await _hold(ledger, user, 101)
    assert (r.status_code, _code(r)) == (409, "insufficient_credits")
    r = await ledger.http.post(
        "/v1/holds", headers=ledger.auth(user), json={"credits": 1, "ttl_seconds": 5}
    )
    assert (r.status_code, _code(r)) == (400, "idempotency_key_required")
    r = await ledger.http.post(
        f"/v1/holds/{uuid.uuid4()}/capture", headers=ledger.auth(user), json={"credits": 1}
    )
    assert (r.status_code, _code(r)) == (404, "hold_not_found")
    r = await ledger.http.post(
        "/v1/holds/not-a-uuid/capture", headers=ledger.auth(user), json={"credits": 1}
    )
    assert (r.status_code, _code(r)) == (422, "validation_error")
    for status in ("gone",):
        r = await ledger.http.get("/v1/lots", headers=ledger.auth(user), params={"status": status})
        assert (r.status_code, _code(r)) == (422, "validation_error")
    r = await ledger.http.post(
        "/v1/admin/grants",
        headers=ledger.auth("ops", admin=True, key="g"),
        json={"user_id": user, "credits": 1, "reason": "r", "expires_at": "2020-01-01T00:00:00Z"},
    )
    assert (r.status_code, _code(r)) == (422, "invalid_validity")


async def test_time_travel_needs_an_admin_and_sandbox_mode(
    ledger: LedgerApp, fresh_database: Any, test_topics: Any, unique_suffix: str
) -> None:
    r = await ledger.http.post(
        "/v1/sandbox/clock/advance", headers=ledger.auth("alice"), json={"by": "P1D"}
    )
    assert (r.status_code, _code(r)) == (403, "forbidden")
    r = await ledger.http.post("/v1/sandbox/jobs/run", headers=ledger.auth("alice"))
    assert (r.status_code, _code(r)) == (403, "forbidden")
    clock = await ledger.get("/v1/sandbox/clock", "alice")
    assert clock["sandbox"] is True

    # The same ledger outside sandbox mode refuses time travel with 403, never a 500.
    dsn = await fresh_database("ledger", None)
    settings = LedgerSettings(
        database=dsn.rsplit("/", 1)[1],
        topic_prefix=test_topics.prefix,
        ledger_consumer_group=f"ledger.prod.{unique_suffix}",
        jwt_secret=JWT,
        log_level="WARNING",
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://l") as http,
    ):
        admin = ledger.auth("ops", admin=True)
        for path, body in (
            ("/v1/sandbox/clock/advance", {"by": "P1D"}),
            ("/v1/sandbox/jobs/run", None),
        ):
            r = await http.post(path, headers=admin, json=body)
            assert (r.status_code, _code(r)) == (403, "sandbox_only"), path
        r = await http.get("/v1/sandbox/clock", headers=admin)
        assert r.json()["sandbox"] is False
        assert abs(datetime.fromisoformat(r.json()["now"]) - datetime.now(UTC)) < timedelta(
            seconds=5
        )
