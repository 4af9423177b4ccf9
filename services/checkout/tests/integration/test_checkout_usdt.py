"""USDT (TRC20) on the real PostgreSQL and the fake TronGrid over real HTTP: amount reservations
under concurrency, the watcher's matching, solidification, paging, restarts, the operators' list.

The payment events are checked in checkout's outbox (the relay that publishes them is shared and
tested elsewhere)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from paystream.checkout.providers import PaymentRequest, RefundRequest, RefundStatus
from paystream.checkout.settings import CheckoutSettings
from paystream.checkout.usdt.domain import UsdtConfig
from paystream.checkout.usdt.endpoints import router as usdt_admin_router
from paystream.checkout.usdt.provider import UsdtProvider
from paystream.checkout.usdt.service import NoAmountAvailable
from paystream.checkout.usdt.trongrid import TronGridClient, TronGridError
from paystream.checkout.usdt.watcher import UsdtWatcher
from paystream.devtools.fakes import serving
from paystream.devtools.fakes.trongrid import create_app as create_fake_trongrid
from paystream.shared import http
from paystream.shared.auth import make_token
from paystream.shared.events import Envelope, PaymentSucceededV1, deterministic_id, utcnow
from paystream.shared.money import Money
from paystream.shared.topics import PAYMENTS_EVENTS

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
ADDRESS = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
PAYER = "TJmmqjb1DK9TTZbQXzRQ2AuA94z4gKAPFh"
JWT_SECRET = "usdt-tests-jwt-secret-0123456789abcdef"


@dataclass
class Usdt:
    pool: asyncpg.Pool
    fake_url: str
    fake: httpx.AsyncClient  # the fake's control endpoints
    client: TronGridClient
    config: UsdtConfig

    def provider(self, **over: Any) -> UsdtProvider:
        return UsdtProvider(self.pool, replace(self.config, **over))

    def watcher(self, **over: Any) -> UsdtWatcher:
        return UsdtWatcher(self.pool, self.client, replace(self.config, **over))

    async def deposit(
        self,
        price: str = "14.00",
        *,
        user_id: str = "user-1",
        expires_in: timedelta = timedelta(minutes=30),
        provider: UsdtProvider | None = None,
    ) -> tuple[str, Money, str]:
        """A USDT order's deposit: (order id, exact amount, deposit id)."""
        order_id = str(uuid.uuid4())
        got = await (provider or self.provider()).create_payment(
            _request(order_id, price, user_id, expires_in)
        )
        assert got.deposit_address == ADDRESS
        assert got.deposit_amount is not None
        return order_id, got.deposit_amount, got.session_id

    async def send(self, amount: Money | str, **extra: Any) -> str:
        value = amount.format() if isinstance(amount, Money) else amount
        resp = await self.fake.post(
            "/_fake/transfers", json={"to": ADDRESS, "amount": value, **extra}
        )
        resp.raise_for_status()
        txid: str = resp.json()["transfers"][0]["transaction_id"]
        return txid

    async def outbox(self) -> list[tuple[str, str, Envelope]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT topic, key, payload FROM outbox ORDER BY id")
        return [(r["topic"], r["key"], Envelope.from_bytes(bytes(r["payload"]))) for r in rows]

    async def transfers(self) -> dict[str, asyncpg.Record]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM usdt_transfers")
        return {f"{r['transaction_id']}:{r['event_index']}": r for r in rows}

    async def deposit_status(self, deposit_id: str) -> str:
        async with self.pool.acquire() as conn:
            status: str = await conn.fetchval(
                "SELECT status FROM usdt_deposits WHERE id = $1", uuid.UUID(deposit_id)
            )
        return status


def _request(
    order_id: str,
    price: str,
    user_id: str = "user-1",
    expires_in: timedelta = timedelta(minutes=30),
) -> PaymentRequest:
    return PaymentRequest(
        order_id=order_id,
        user_id=user_id,
        package_id="standard",
        package_name="Standard",
        credits=1100,
        amount=Money.parse(price, "USDT"),
        payment_method="usdt_trc20",
        return_url="http://127.0.0.1:3000/return",
        expires_at=utcnow() + expires_in,
    )


@pytest.fixture
async def usdt(
    fresh_database: Callable[[str, Path | None], Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> AsyncIterator[Usdt]:
    dsn = await fresh_database("checkout_usdt", MIGRATIONS)
    pool = await pool_for(dsn)
    async with serving(create_fake_trongrid()) as url, httpx.AsyncClient(base_url=url) as fake:
        client = TronGridClient(url, timeout_s=5)
        config = UsdtConfig(
            deposit_address=ADDRESS,
            poll_interval_s=0.05,
            page_size=50,
        )
        try:
            yield Usdt(pool, url, fake, client, config)
        finally:
            await client.aclose()


# ---- amount reservations --------------------------------------------------------------------


async def test_concurrent_allocations_get_unique_amounts(usdt: Usdt) -> None:
    provider = usdt.provider()
    prices = ["14.00", "7.00", "14.00", "69.00"] * 15
    results = await asyncio.gather(
        *(provider.create_payment(_request(str(uuid.uuid4()), p)) for p in prices)
    )
    amounts = [r.deposit_amount for r in results]
    assert all(a is not None and a.currency == "USDT" for a in amounts)
    minors = [a.minor for a in amounts if a is not None]
    assert len(set(minors)) == len(minors) == 60
    # The residue (the last three decimals) alone names the order too.
    assert len({m % 1000 for m in minors}) == 60
    for price, amount in zip(prices, minors, strict=True):
        offset = amount - Money.parse(price, "USDT").minor
        assert 1 <= offset <= 999


async def test_concurrent_allocations_never_share_the_last_free_amounts(usdt: Usdt) -> None:
    provider = usdt.provider(offset_max=9)
    outcomes = await asyncio.gather(
        *(provider.create_payment(_request(str(uuid.uuid4()), "14.00")) for _ in range(20)),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 9
    assert all(isinstance(e, NoAmountAvailable) for e in lost)
    assert sorted(w.deposit_amount.minor % 10 for w in won if w.deposit_amount) == list(
        range(1, 10)
    )


async def test_a_replayed_order_gets_its_deposit_again(usdt: Usdt) -> None:
    provider = usdt.provider()
    order_id = str(uuid.uuid4())
    first, second = await asyncio.gather(
        provider.create_payment(_request(order_id, "14.00")),
        provider.create_payment(_request(order_id, "14.00")),
    )
    assert first == second


async def test_closing_releases_the_amount_after_the_cooldown(usdt: Usdt) -> None:
    provider = usdt.provider(offset_max=1, amount_cooldown=timedelta(0), late_window=timedelta(0))
    _, amount, deposit_id = await usdt.deposit(provider=provider)
    with pytest.raises(NoAmountAvailable):
        await usdt.deposit(provider=provider)
    await provider.close(deposit_id, "usdt_trc20")
    await provider.close(deposit_id, "usdt_trc20")  # closing twice is fine
    await provider.close("not-a-uuid", "usdt_trc20")
    assert await usdt.deposit_status(deposit_id) == "closed"
    _, again, _ = await usdt.deposit(provider=provider)
    assert again == amount


async def test_recently_released_amounts_are_avoided_while_others_are_free(usdt: Usdt) -> None:
    provider = usdt.provider(offset_max=2, amount_cooldown=timedelta(days=1))
    _, first, first_id = await usdt.deposit(provider=provider)
    await provider.close(first_id, "usdt_trc20")
    _, second, second_id = await usdt.deposit(provider=provider)
    assert second != first
    await provider.close(second_id, "usdt_trc20")
    # Both released within the late window: a late transfer for either could still arrive, so
    # neither is handed out again (a reused amount could credit the wrong buyer).
    with pytest.raises(NoAmountAvailable):
        await usdt.deposit(provider=provider)


async def test_an_amount_is_not_reused_within_the_late_window_even_without_cooldown(
    usdt: Usdt,
) -> None:
    provider = usdt.provider(
        offset_max=1, amount_cooldown=timedelta(0), late_window=timedelta(days=7)
    )
    _, _, deposit_id = await usdt.deposit(provider=provider)
    await provider.close(deposit_id, "usdt_trc20")
    with pytest.raises(NoAmountAvailable):
        await usdt.deposit(provider=provider)


async def test_deposits_left_open_long_past_expiry_are_reclaimed(usdt: Usdt) -> None:
    # No late window nor cooldown here: the reclaimed amount is then free for the next order (with
    # them it is not reused until they passed; see the tests above).
    provider = usdt.provider(
        offset_max=1,
        reclaim_after=timedelta(minutes=5),
        late_window=timedelta(0),
        amount_cooldown=timedelta(0),
    )
    _, _, stale = await usdt.deposit(provider=provider, expires_in=-timedelta(minutes=10))
    await usdt.deposit(provider=provider)
    assert await usdt.deposit_status(stale) == "closed"


async def test_only_usdt_prices_are_taken(usdt: Usdt) -> None:
    from paystream.checkout.providers import ProviderError

    req = replace(_request(str(uuid.uuid4()), "14.00"), amount=Money(1400, "USD"))
    with pytest.raises(ProviderError, match="USDT"):
        await usdt.provider().create_payment(req)


# ---- the watcher ----------------------------------------------------------------------------


async def test_an_exact_transfer_is_published_once_across_polls_and_restarts(usdt: Usdt) -> None:
    order_id, amount, deposit_id = await usdt.deposit("14.00", user_id="user-42")
    txid = await usdt.send(amount, **{"from": PAYER})
    await usdt.fake.post("/_fake/solidify", json={})

    watcher = usdt.watcher()
    first = await watcher.poll_once()
    assert (first.recorded, first.credited) == (1, 1)
    again = await watcher.poll_once()
    assert (again.recorded, again.credited) == (0, 0)
    # A restart: a new watcher (and a new client) reads from the stored cursor (and its overlap).
    restarted_client = TronGridClient(usdt.fake_url)
    try:
        after_restart = await UsdtWatcher(usdt.pool, restarted_client, usdt.config).poll_once()
    finally:
        await restarted_client.aclose()
    assert after_restart.credited == 0

    outbox = await usdt.outbox()
    assert len(outbox) == 1
    topic, key, env = outbox[0]
    assert (topic, key) == (PAYMENTS_EVENTS, "user-42")
    assert env.id == deterministic_id("usdt_trc20", txid, "payment")
    payment = env.payload_as(PaymentSucceededV1)
    assert payment.order_id == order_id
    assert payment.user_id == "user-42"
    assert (payment.package_id, payment.credits) == ("standard", 1100)
    assert payment.amount() == amount
    assert payment.provider == "usdt_trc20"
    assert payment.provider_payment_id == txid
    assert payment.provider_session_id == deposit_id

    rows = await usdt.transfers()
    row = rows[f"{txid}:0"]
    assert (row["status"], row["credited"]) == ("matched", True)
    assert str(row["order_id"]) == order_id
    assert row["from_address"] == PAYER
    assert row["block_number"] is not None
    assert payment.paid_at == row["block_timestamp"]
    assert await usdt.deposit_status(deposit_id) == "paid"


async def test_nothing_happens_until_the_block_is_solidified(
    fresh_database: Callable[[str, Path | None], Awaitable[str]],
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> None:
    dsn = await fresh_database("checkout_usdt", MIGRATIONS)
    pool = await pool_for(dsn)
    fake_app = create_fake_trongrid(solid_lag_blocks=19)
    async with serving(fake_app) as url, httpx.AsyncClient(base_url=url) as fake:
        client = TronGridClient(url)
        try:
            config = UsdtConfig(deposit_address=ADDRESS)
            usdt = Usdt(pool, url, fake, client, config)
            _, amount, deposit_id = await usdt.deposit()
            watcher = usdt.watcher()

            await usdt.send(amount)
            assert (await watcher.poll_once()).recorded == 0  # not confirmed: not listed

            # An index that lists it as confirmed early: the solidified chain still decides.
            txid = await usdt.send(amount, confirmed=True)
            early = await watcher.poll_once()
            assert (early.seen, early.recorded, early.waiting) == (1, 0, 1)
            assert await usdt.outbox() == []
            assert await usdt.transfers() == {}
            assert await usdt.deposit_status(deposit_id) == "open"

            await fake.post("/_fake/blocks", json={"count": 19})  # 19 blocks later: solid
            done = await watcher.poll_once()
            assert (done.recorded, done.credited) == (2, 1)
            statuses = {k: r["status"] for k, r in (await usdt.transfers()).items()}
            # Both sent the exact amount; the first (older block) paid, the second is a duplicate.
            assert sorted(statuses.values()) == ["duplicate", "matched"]
            assert statuses[f"{txid}:0"] == "duplicate"
            assert len(await usdt.outbox()) == 1
        finally:
            await client.aclose()


async def test_every_kind_of_transfer_is_recorded_with_its_verdict(usdt: Usdt) -> None:
    provider = usdt.provider()
    exact_order, exact, _ = await usdt.deposit("14.00", user_id="u-exact")
    under_order, under, under_dep = await usdt.deposit("14.00", user_id="u-under")
    over_order, over, _ = await usdt.deposit("7.00", user_id="u-over")
    late_order, late, _ = await usdt.deposit(
        "69.00", user_id="u-late", expires_in=-timedelta(minutes=1)
    )
    cancelled_order, cancelled, cancelled_dep = await usdt.deposit("139.00", user_id="u-cancel")
    await provider.close(cancelled_dep, "usdt_trc20")
    await asyncio.sleep(0.01)  # the transfer comes after the cancellation

    fee = Money.parse("1.00", "USDT")
    sent = {
        "matched": await usdt.send(exact),
        "underpaid": await usdt.send(under - fee),  # an exchange took 1 USDT off
        "overpaid": await usdt.send(over + fee),
        "late": await usdt.send(late),
        "late_cancelled": await usdt.send(cancelled),
        "unmatched": await usdt.send("3.000000"),
        "duplicate": await usdt.send(exact),
    }
    await usdt.fake.post("/_fake/solidify", json={})
    result = await usdt.watcher().poll_once()
    assert (result.recorded, result.credited) == (7, 4)

    rows = await usdt.transfers()
    got = {
        name: (rows[f"{tx}:0"]["status"], rows[f"{tx}:0"]["credited"]) for name, tx in sent.items()
    }
    assert got == {
        "matched": ("matched", True),
        "underpaid": ("underpaid", False),
        "overpaid": ("overpaid", True),
        "late": ("late", True),
        "late_cancelled": ("late", True),
        "unmatched": ("unmatched", False),
        "duplicate": ("duplicate", False),
    }
    assert str(rows[f"{sent['underpaid']}:0"]["order_id"]) == under_order
    assert rows[f"{sent['underpaid']}:0"]["expected_minor"] == under.minor
    assert rows[f"{sent['unmatched']}:0"]["order_id"] is None
    assert await usdt.deposit_status(under_dep) == "open"  # the payer may still send the rest

    published = {
        env.payload_as(PaymentSucceededV1).order_id: env.payload_as(PaymentSucceededV1)
        for _, _, env in await usdt.outbox()
    }
    assert set(published) == {exact_order, over_order, late_order, cancelled_order}
    assert published[over_order].amount() == over + fee  # what arrived, not the price


async def test_one_transaction_paying_two_orders_publishes_two_payments(usdt: Usdt) -> None:
    a_order, a, _ = await usdt.deposit("7.00")
    b_order, b, _ = await usdt.deposit("14.00")
    txid = "ab" * 32
    resp = await usdt.fake.post(
        "/_fake/transfers",
        json={
            "transfers": [
                {"to": ADDRESS, "amount": b.format(), "txid": txid},
                {"to": ADDRESS, "amount": a.format(), "txid": txid},
            ]
        },
    )
    resp.raise_for_status()
    await usdt.fake.post("/_fake/solidify", json={})
    assert (await usdt.watcher().poll_once()).credited == 2
    events = [env for _, _, env in await usdt.outbox()]
    assert {e.payload_as(PaymentSucceededV1).order_id for e in events} == {a_order, b_order}
    assert len({e.id for e in events}) == 2
    assert {e.payload_as(PaymentSucceededV1).provider_payment_id for e in events} == {
        txid,
        f"{txid}:1",
    }


async def _backlog(usdt: Usdt) -> None:
    """12 paid deposits and 11 unmatched dust transfers, one block each, all solidified."""
    deposits = [await usdt.deposit("7.00") for _ in range(12)]
    for _, amount, _ in deposits:
        await usdt.send(amount)
    for i in range(11):
        await usdt.send(f"1.{i:06d}")
    await usdt.fake.post("/_fake/solidify", json={})


async def _check_backlog_recorded(usdt: Usdt) -> None:
    rows = await usdt.transfers()
    assert len(rows) == 23
    assert sorted(r["status"] for r in rows.values()).count("matched") == 12
    assert len(await usdt.outbox()) == 12


async def test_one_poll_pages_and_moves_its_window_through_a_backlog(usdt: Usdt) -> None:
    await _backlog(usdt)
    # 5 rows a page, 2 pages a window: 23 transfers take 3 windows.
    result = await usdt.watcher(page_size=5, max_pages_per_window=2).poll_once()
    assert (result.seen, result.recorded, result.credited) == (23, 23, 12)
    assert result.pages >= 5
    await _check_backlog_recorded(usdt)
    assert (await usdt.watcher(page_size=5).poll_once()).recorded == 0


async def test_a_backlog_bigger_than_a_poll_goes_on_at_the_next_polls(usdt: Usdt) -> None:
    await _backlog(usdt)
    # One window of 10 rows a poll, and an overlap that holds the whole backlog: each poll still
    # goes on from where the last one stopped, and nothing is recorded twice.
    watcher = usdt.watcher(
        page_size=5,
        max_pages_per_window=2,
        max_windows_per_poll=1,
        cursor_overlap=timedelta(hours=1),
    )
    recorded = [(await watcher.poll_once()).recorded for _ in range(4)]
    assert recorded == [9, 9, 5, 0]
    await _check_backlog_recorded(usdt)

    # Caught up: a new transfer is read from the cursor minus the overlap, once.
    await usdt.send("2.000000")
    await usdt.fake.post("/_fake/solidify", json={})
    assert (await watcher.poll_once()).recorded == 1
    assert (await watcher.poll_once()).recorded == 0


async def test_a_transfer_long_after_its_deposit_was_released_is_unmatched(usdt: Usdt) -> None:
    provider = usdt.provider()
    _, amount, deposit_id = await usdt.deposit()
    await provider.close(deposit_id, "usdt_trc20")
    await asyncio.sleep(0.05)
    txid = await usdt.send(amount)
    await usdt.fake.post("/_fake/solidify", json={})
    # With no late window, nothing still claims that amount.
    await usdt.watcher(late_window=timedelta(0)).poll_once()
    assert (await usdt.transfers())[f"{txid}:0"]["status"] == "unmatched"
    assert await usdt.outbox() == []


async def test_run_forever_polls_until_cancelled(usdt: Usdt) -> None:
    _, amount, _ = await usdt.deposit()
    await usdt.send(amount)
    await usdt.fake.post("/_fake/solidify", json={})
    client = TronGridClient(usdt.fake_url)
    task = asyncio.create_task(UsdtWatcher(usdt.pool, client, usdt.config).run_forever())
    try:
        for _ in range(100):
            if await usdt.outbox():
                break
            await asyncio.sleep(0.05)
        assert len(await usdt.outbox()) == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_usdt_refunds_are_manual_and_name_the_payer(usdt: Usdt) -> None:
    order_id, amount, _ = await usdt.deposit()
    await usdt.send(amount, **{"from": PAYER})
    await usdt.fake.post("/_fake/solidify", json={})
    await usdt.watcher().poll_once()
    outcome = await usdt.provider().refund(
        RefundRequest(
            refund_id="rf-1",
            order_id=order_id,
            user_id="user-1",
            amount=Money.parse("14.00", "USDT"),
            payment_amount=amount,
            payment_method="usdt_trc20",
            provider_payment_id=None,
            provider_session_id=None,
            reason="requested_by_customer",
        )
    )
    assert outcome.status == RefundStatus.MANUAL
    assert outcome.provider_refund_id == "rf-1"
    assert outcome.detail is not None
    assert PAYER in outcome.detail


# ---- the TronGrid client against the fake ---------------------------------------------------


async def test_client_sends_the_api_key_and_retries_server_errors() -> None:
    async with (
        serving(create_fake_trongrid(api_key="k-123")) as url,
        httpx.AsyncClient(base_url=url) as fake,
    ):
        await fake.post("/_fake/transfers", json={"to": ADDRESS, "amount": "1.5"})
        await fake.post("/_fake/solidify", json={})
        keyed = TronGridClient(url, api_key="k-123")
        keyless = TronGridClient(url, attempts=1)
        try:
            await fake.post("/_fake/fail", json={"count": 2, "status": 503})
            page = await keyed.trc20_transfers_to(
                ADDRESS,
                contract_address=UsdtConfig(ADDRESS).contract_address,
                min_timestamp_ms=0,
                limit=10,
            )
            assert [row["value"] for row in page.data] == ["1500000"]
            assert page.fingerprint is None
            with pytest.raises(TronGridError, match="401"):
                await keyless.trc20_transfers_to(
                    ADDRESS, contract_address="T", min_timestamp_ms=0, limit=10
                )
        finally:
            await keyed.aclose()
            await keyless.aclose()


async def test_client_reports_an_unreachable_trongrid() -> None:
    from paystream.devtools.fakes import free_port

    client = TronGridClient(f"http://127.0.0.1:{free_port()}", attempts=2, timeout_s=1)
    try:
        with pytest.raises(TronGridError, match="unreachable"):
            await client.solidified_transaction("00" * 32)
    finally:
        await client.aclose()


async def test_fake_refuses_a_fingerprint_with_other_parameters() -> None:
    async with serving(create_fake_trongrid()) as url, httpx.AsyncClient(base_url=url) as fake:
        for i in range(3):
            await fake.post("/_fake/transfers", json={"to": ADDRESS, "amount": f"{i + 1}"})
        path = f"/v1/accounts/{ADDRESS}/transactions/trc20"
        first = (await fake.get(path, params={"limit": 2})).json()
        assert first["success"] is True
        assert len(first["data"]) == 2
        fp = first["meta"]["fingerprint"]
        second = (await fake.get(path, params={"limit": 2, "fingerprint": fp})).json()
        assert len(second["data"]) == 1
        assert "fingerprint" not in second["meta"]
        refused = await fake.get(path, params={"limit": 3, "fingerprint": fp})
        assert refused.status_code == 400
        assert refused.json()["success"] is False
        assert (await fake.get(path, params={"limit": 201})).status_code == 400


# ---- the operators' list --------------------------------------------------------------------


@pytest.fixture
async def admin_http(usdt: Usdt) -> AsyncIterator[httpx.AsyncClient]:
    app = http.create_app(
        title="usdt admin test", settings=CheckoutSettings(jwt_secret=JWT_SECRET), lifespan=None
    )
    app.state.checkout = SimpleNamespace(pool=usdt.pool)
    app.include_router(usdt_admin_router)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://checkout"
    ) as client:
        yield client


def _auth(user: str = "ops", *, admin: bool = True) -> dict[str, str]:
    token = make_token(user, JWT_SECRET, role="admin" if admin else None)
    return {"Authorization": f"Bearer {token}"}


async def test_admin_lists_transfers_by_status_newest_first(
    usdt: Usdt, admin_http: httpx.AsyncClient
) -> None:
    order_id, amount, _ = await usdt.deposit()
    await usdt.send(amount)
    for i in range(3):
        await usdt.send(f"5.00000{i}")
    await usdt.fake.post("/_fake/solidify", json={})
    await usdt.watcher().poll_once()

    matched = await admin_http.get("/v1/admin/usdt/transfers?status=matched", headers=_auth())
    assert matched.status_code == 200
    [item] = matched.json()["items"]
    assert item["order_id"] == order_id
    assert item["amount"] == {"value": amount.format(), "currency": "USDT"}
    assert item["expected"] == item["amount"]
    assert item["credited"] is True

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "unmatched", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (
            await admin_http.get("/v1/admin/usdt/transfers", params=params, headers=_auth())
        ).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(i["amount"]["value"] for i in seen) == ["5.000000", "5.000001", "5.000002"]
    assert all(i["status"] == "unmatched" and i["expected"] is None for i in seen)
    keys = [(i["seen_at"], i["id"]) for i in seen]
    assert keys == sorted(keys, reverse=True)

    everything = (await admin_http.get("/v1/admin/usdt/transfers", headers=_auth())).json()
    assert len(everything["items"]) == 4
    assert everything["next_cursor"] is None


async def test_admin_list_refusals(admin_http: httpx.AsyncClient) -> None:
    path = "/v1/admin/usdt/transfers"
    no_token = await admin_http.get(path)
    assert (no_token.status_code, no_token.json()["error"]["code"]) == (401, "unauthorized")
    user = await admin_http.get(path, headers=_auth("u1", admin=False))
    assert (user.status_code, user.json()["error"]["code"]) == (403, "forbidden")
    bad_status = await admin_http.get(path, params={"status": "lost"}, headers=_auth())
    assert (bad_status.status_code, bad_status.json()["error"]["code"]) == (422, "validation_error")
    bad_limit = await admin_http.get(path, params={"limit": 0}, headers=_auth())
    assert bad_limit.status_code == 422
    bad_cursor = await admin_http.get(path, params={"cursor": "@@@"}, headers=_auth())
    assert (bad_cursor.status_code, bad_cursor.json()["error"]["code"]) == (400, "bad_request")
