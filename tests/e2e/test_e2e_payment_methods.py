"""Every payment method end to end through the running stack and the provider fakes, then
refunds: order -> the provider's signed notification (or the watched deposit) -> paid, credited
once, invoiced once; duplicates harmless; a partial then a full refund take the credits back in
proportion and issue credit notes."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from paystream.devtools.client import WEBHOOK_SECRETS, Harness
from paystream.devtools.fakes.alipay import build_notification, encode_form
from paystream.devtools.fakes.wechatpay import transaction_notification, transaction_resource
from paystream.devtools.payers import pay, send_stripe_event, stripe_paid_event
from paystream.devtools.sandbox import (
    ALIPAY_APP_ID,
    WECHATPAY_APPID,
    WECHATPAY_MCHID,
    WECHATPAY_PLATFORM_KEY_ID,
)
from paystream.devtools.stack import Stack

pytestmark = pytest.mark.e2e

# (method, currency, price of `standard` in it, what a 30% refund is)
CASES = [
    ("stripe_checkout", "CNY", "100.00", "30.00"),
    ("stripe_payment_intent", "USD", "14.00", "4.20"),
    ("alipay_qr", "CNY", "100.00", "30.00"),
    ("alipay_page", "CNY", "100.00", "30.00"),
    ("wechat_pay_native", "CNY", "100.00", "30.00"),
    ("usdt_trc20", "USDT", "14.000000", None),  # the deposit amount has a unique offset
]


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


async def _settled(h: Harness, user: str, order_id: str, credits: int) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        o: dict[str, Any] = (await h.order(user, order_id)).json()
        ok = (
            o["status"] == "paid"
            and await h.balance(user) == credits
            and len(await h.invoices(user, order_id)) == 1
        )
        return o if ok else None

    settled: dict[str, Any] = await h.eventually(done, timeout_s=45)
    return settled


async def _pay(h: Harness, stack: Stack, order: dict[str, Any]) -> str:
    assert stack.sandbox is not None
    return await pay(h.http, order, sandbox=stack.sandbox, stripe_webhook_secret=WEBHOOK_SECRETS[0])


async def _alipay_notify(
    h: Harness,
    stack: Stack,
    out_trade_no: str,
    *,
    key: str | None = None,
    total: str | None = None,
    **kw: Any,
) -> httpx.Response:
    """Alipay's async notification about a trade, as the fake has it, signed with `key`
    (Alipay's own by default); `total` tampers the amount after signing."""
    assert stack.sandbox is not None
    trade = (
        await h.http.get(f"{stack.sandbox.url('fake-alipay')}/_fake/trades/{out_trade_no}")
    ).json()
    form = build_notification(
        alipay_private_key=key or stack.sandbox.alipay_platform[0],
        app_id=ALIPAY_APP_ID,
        out_trade_no=out_trade_no,
        trade_no=trade["trade_no"],
        trade_status="TRADE_SUCCESS",
        total_amount=trade["total_amount"],
        passback_params=trade["passback_params"],
        **kw,
    )
    if total is not None:
        form["total_amount"] = total
    return await h.http.post(
        f"{h.urls['webhook-ingest']}/webhooks/alipay",
        content=encode_form(form),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )


async def _wechatpay_notify(
    h: Harness,
    stack: Stack,
    out_trade_no: str,
    *,
    key: str | None = None,
    timestamp: int | None = None,
) -> httpx.Response:
    """WeChat Pay's TRANSACTION.SUCCESS notification about an order, signed with `key`."""
    sb = stack.sandbox
    assert sb is not None
    tx = (await h.http.get(f"{sb.url('fake-wechatpay')}/_fake/transactions/{out_trade_no}")).json()
    tx = tx.get("transaction", tx)
    resource = transaction_resource(
        mchid=WECHATPAY_MCHID,
        appid=WECHATPAY_APPID,
        out_trade_no=out_trade_no,
        transaction_id=f"4200{uuid.uuid4().int % 10**24:024d}",
        total_fen=tx["amount"]["total"],
        attach=tx["attach"],
    )
    n = transaction_notification(
        resource,
        apiv3_key=sb.wechatpay_apiv3_key,
        platform_private_key=key or sb.wechatpay_platform[0],
        platform_public_key_id=WECHATPAY_PLATFORM_KEY_ID,
        timestamp=timestamp,
    )
    return await h.http.post(
        f"{h.urls['webhook-ingest']}/webhooks/wechatpay", content=n.body, headers=n.headers
    )


def _other_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def test_forged_tampered_or_stale_notifications_are_refused_and_change_nothing(
    harness: Harness, stack: Stack
) -> None:
    h, user = harness, _user()
    ali = await h.create_order(user, "standard", method="alipay_qr")
    wx = await h.create_order(user, "trial", method="wechat_pay_native")
    attacker = _other_key()

    forged = await _alipay_notify(h, stack, ali["provider_session_id"], key=attacker)
    tampered = await _alipay_notify(h, stack, ali["provider_session_id"], total="0.01")
    rsa1 = await _alipay_notify(h, stack, ali["provider_session_id"], sign_type="RSA")
    for r in (forged, tampered, rsa1):
        assert r.status_code == 400, r.text
        assert r.text != "success"
    wx_forged = await _wechatpay_notify(h, stack, wx["provider_session_id"], key=attacker)
    wx_stale = await _wechatpay_notify(
        h, stack, wx["provider_session_id"], timestamp=int(time.time()) - 400
    )
    for r in (wx_forged, wx_stale):
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "FAIL"

    await asyncio.sleep(1.5)
    for o in (ali, wx):
        assert (await h.order(user, o["order_id"])).json()["status"] == "pending"
    assert await h.balance(user) == 0
    # The genuine notifications then go through: nothing was stuck behind the refused ones.
    await _pay(h, stack, ali)
    await _pay(h, stack, wx)

    async def both_paid() -> bool:
        statuses = {(await h.order(user, o["order_id"])).json()["status"] for o in (ali, wx)}
        return statuses == {"paid"} and await h.balance(user) == 1100 + 500

    await h.eventually(both_paid, timeout_s=45)


@pytest.mark.parametrize(("method", "currency", "price", "part"), CASES)
async def test_pay_then_refund_partially_then_fully(
    harness: Harness, stack: Stack, method: str, currency: str, price: str, part: str | None
) -> None:
    h, user = harness, _user()
    order = await h.create_order(user, "standard", method=method, currency=currency)
    assert order["amount"] == {"value": price, "currency": currency}
    assert order["provider_session_id"]
    shown = {
        "stripe_checkout": order["payment_url"],
        "stripe_payment_intent": order["client_secret"],
        "alipay_qr": order["qr_code"],
        "alipay_page": order["payment_url"],
        "wechat_pay_native": order["qr_code"],
        "usdt_trc20": order["deposit"],
    }[method]
    assert shown, f"{method}: the order shows the payer nothing"

    stripe_event = stripe_paid_event(order) if method.startswith("stripe") else None
    if stripe_event is not None:
        r = await send_stripe_event(
            h.http, h.urls["webhook-ingest"], stripe_event, WEBHOOK_SECRETS[0]
        )
        assert r.status_code == 200, r.text
    else:
        await _pay(h, stack, order)
    paid = await _settled(h, user, order["order_id"], 1100)
    assert paid["amount_mismatch"] is False

    # The same payment told again (a provider retry) changes nothing.
    if stripe_event is not None:
        r = await send_stripe_event(
            h.http, h.urls["webhook-ingest"], stripe_event, WEBHOOK_SECRETS[0]
        )
        assert r.status_code == 200, r.text
    elif method.startswith("alipay"):
        # Alipay retries its notification (another notify_id) until it reads `success`.
        r = await _alipay_notify(h, stack, order["provider_session_id"])
        assert (r.status_code, r.text) == (200, "success")
    elif method == "wechat_pay_native":
        await _pay(h, stack, order)  # the fake resends the same notification
    await asyncio.sleep(1.5)
    assert await h.balance(user) == 1100
    assert len(await h.invoices(user, order["order_id"])) == 1

    paid_value = (
        paid["amount"]["value"] if method != "usdt_trc20" else paid["deposit"]["amount"]["value"]
    )
    part_amount = part or "4.200000"
    r = await h.refund(order["order_id"], {"value": part_amount, "currency": currency})
    assert r.status_code == 201, r.text
    refund = r.json()
    if refund["status"] == "manual":  # USDT: an operator pays it out and confirms
        assert method == "usdt_trc20"
        c = await h.http.post(
            f"{h.urls['checkout']}/v1/refunds/{refund['refund_id']}/confirm-payout",
            headers=h.auth("e2e-admin", admin=True),
            json={"reference": f"tx-{uuid.uuid4().hex}"},
        )
        assert c.status_code == 200, c.text

    async def partially_refunded() -> bool:
        o = (await h.order(user, order["order_id"])).json()
        notes = await h.credit_notes(user, order["order_id"])
        return (
            o["status"] == "partially_refunded" and len(notes) == 1 and await h.balance(user) < 1100
        )

    await h.eventually(partially_refunded, timeout_s=45)
    after_partial = await h.balance(user)
    # Roughly 30% of 1,100 credits go back (rounding is the ledger's documented policy).
    assert 1100 - after_partial in range(300, 360), after_partial

    r = await h.refund(order["order_id"])  # the rest
    assert r.status_code == 201, r.text
    if r.json()["status"] == "manual":
        c = await h.http.post(
            f"{h.urls['checkout']}/v1/refunds/{r.json()['refund_id']}/confirm-payout",
            headers=h.auth("e2e-admin", admin=True),
            json={"reference": f"tx-{uuid.uuid4().hex}"},
        )
        assert c.status_code == 200, c.text

    async def refunded() -> bool:
        o = (await h.order(user, order["order_id"])).json()
        notes = await h.credit_notes(user, order["order_id"])
        return o["status"] == "refunded" and len(notes) == 2 and await h.balance(user) == 0

    await h.eventually(refunded, timeout_s=45)
    final = (await h.order(user, order["order_id"])).json()
    assert final["refunded"]["value"] == paid_value
    notes = await h.credit_notes(user, order["order_id"])
    invoice = (await h.invoices(user, order["order_id"]))[0]
    assert {n["invoice_number"] for n in notes} == {invoice["number"]}
