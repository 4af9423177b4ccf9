"""WeChatPayProvider against the fake WeChat Pay API v3 server over real HTTP: every request
signed with the merchant key and checked by the fake, every answer signed by the fake and checked
by the provider."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paystream.checkout.providers import (
    PaymentRequest,
    ProviderError,
    RefundRequest,
    RefundStatus,
)
from paystream.checkout.providers.wechatpay import WeChatPayProvider
from paystream.devtools.fakes import serving
from paystream.devtools.fakes.wechatpay import WeChatPayKeys, app_for, generate_keys
from paystream.shared.money import Money
from paystream.shared.providers.wechatpay import (
    OrderFacts,
    PlatformVerifier,
    decode_attach,
    decode_out_refund_no,
    decrypt_resource,
    parse_notification,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def keys() -> WeChatPayKeys:
    return generate_keys()


@pytest.fixture(scope="session")
def stranger() -> WeChatPayKeys:
    return generate_keys()


class Notifications:
    """A stand-in notify_url that records what the fake POSTs to it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    def app(self) -> Starlette:
        async def receive(request: Request) -> JSONResponse:
            self.received.append((dict(request.headers), await request.body()))
            return JSONResponse({"code": "SUCCESS", "message": "成功"})

        return Starlette(routes=[Route("/notify", receive, methods=["POST"])])


@pytest.fixture
async def notify() -> AsyncIterator[tuple[Notifications, str]]:
    sink = Notifications()
    async with serving(sink.app()) as base:
        yield sink, f"{base}/notify"


def _provider(keys: WeChatPayKeys, base: str, notify_url: str, **kw: Any) -> WeChatPayProvider:
    args: dict[str, Any] = {
        "api_base": base,
        "mchid": keys.mchid,
        "appid": keys.appid,
        "merchant_private_key": keys.merchant_private_key,
        "merchant_serial_no": keys.merchant_serial_no,
        "platform_public_key": keys.platform_public_key,
        "platform_public_key_id": keys.platform_public_key_id,
        "notify_url": notify_url,
        "timeout_s": 5.0,
        "max_retries": 0,
    }
    args.update(kw)
    return WeChatPayProvider(**args)


@pytest.fixture
async def fake(keys: WeChatPayKeys) -> AsyncIterator[str]:
    async with serving(app_for(keys)) as base:
        yield base


@pytest.fixture
async def provider(
    keys: WeChatPayKeys, fake: str, notify: tuple[Notifications, str]
) -> AsyncIterator[WeChatPayProvider]:
    p = _provider(keys, fake, notify[1])
    yield p
    await p.aclose()


def _order(amount: int = 10000, **kw: Any) -> PaymentRequest:
    args: dict[str, Any] = {
        "order_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "package_id": "standard",
        "package_name": "Standard: 1,100 credits",
        "credits": 1100,
        "amount": Money(amount, "CNY"),
        "payment_method": "wechat_pay_native",
        "return_url": "http://127.0.0.1:3000/return",
        "expires_at": datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=31),
    }
    args.update(kw)
    return PaymentRequest(**args)


def _refund(req: PaymentRequest, session_id: str, amount: int) -> RefundRequest:
    return RefundRequest(
        refund_id=str(uuid.uuid4()),
        order_id=req.order_id,
        user_id=req.user_id,
        amount=Money(amount, "CNY"),
        payment_amount=req.amount,
        payment_method="wechat_pay_native",
        provider_payment_id=None,
        provider_session_id=session_id,
        reason="customer asked",
    )


async def _pay(fake: str, out_trade_no: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{fake}/_fake/transactions/{out_trade_no}/pay")
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


async def test_native_order_gives_a_code_url_and_carries_the_order_facts(
    provider: WeChatPayProvider, notify: tuple[Notifications, str]
) -> None:
    req = _order()
    got = await provider.create_payment(req)

    assert got.session_id == uuid.UUID(req.order_id).hex
    assert got.qr_code is not None
    assert got.qr_code.startswith("weixin://wxpay/bizpayurl?pr=")
    tx = await provider.client.query(got.session_id)
    assert tx["trade_state"] == "NOTPAY"
    assert tx["amount"]["total"] == 10000
    assert decode_attach(tx["attach"]) == OrderFacts(
        req.order_id, req.user_id, req.credits, req.package_id
    )
    # The same order asked again (a retry) is the same QR code, not a second transaction.
    assert (await provider.create_payment(req)).qr_code == got.qr_code


async def test_a_paid_order_notifies_a_signed_encrypted_transaction(
    provider: WeChatPayProvider, fake: str, keys: WeChatPayKeys, notify: tuple[Notifications, str]
) -> None:
    req = _order()
    got = await provider.create_payment(req)
    answer = await _pay(fake, got.session_id)
    assert answer["notify"]["status"] == 200
    [(headers, body)] = notify[0].received
    PlatformVerifier({keys.platform_public_key_id: keys.platform_public_key}).verify(
        headers, body, now=datetime.now(UTC).timestamp()
    )
    n = parse_notification(body)
    assert n.event_type == "TRANSACTION.SUCCESS"
    resource = orjson.loads(decrypt_resource(n.resource, keys.apiv3_key))
    assert resource["out_trade_no"] == got.session_id
    assert resource["trade_state"] == "SUCCESS"
    assert decode_attach(resource["attach"]).order_id == req.order_id


async def test_refunds_full_partial_and_too_much(provider: WeChatPayProvider, fake: str) -> None:
    full = _order()
    session = (await provider.create_payment(full)).session_id
    await _pay(fake, session)
    r = _refund(full, session, 10000)
    outcome = await provider.refund(r)
    assert outcome.status is RefundStatus.SUCCEEDED
    assert decode_out_refund_no(outcome.provider_refund_id) == (r.refund_id, full.user_id)
    # The same refund asked again refunds nothing more and says the same.
    assert await provider.refund(r) == outcome
    too_much = await provider.refund(_refund(full, session, 1))
    assert too_much.status is RefundStatus.FAILED
    assert too_much.detail is not None
    assert too_much.detail.startswith("INVALID_REQUEST")

    part = _order()
    session = (await provider.create_payment(part)).session_id
    await _pay(fake, session)
    first = await provider.refund(_refund(part, session, 2500))
    second = await provider.refund(_refund(part, session, 7000))
    assert (first.status, second.status) == (RefundStatus.SUCCEEDED, RefundStatus.SUCCEEDED)
    assert first.provider_refund_id != second.provider_refund_id
    over = await provider.refund(_refund(part, session, 501))
    assert over.status is RefundStatus.FAILED
    assert (await provider.refund(_refund(part, session, 500))).status is RefundStatus.SUCCEEDED


async def test_a_refund_of_an_unpaid_order_is_refused(
    provider: WeChatPayProvider,
) -> None:
    req = _order()
    session = (await provider.create_payment(req)).session_id
    outcome = await provider.refund(_refund(req, session, 100))
    assert outcome.status is RefundStatus.FAILED
    assert outcome.detail is not None
    assert outcome.detail.startswith("TRADE_ERROR")


async def test_a_processing_refund_is_pending_then_notified(
    keys: WeChatPayKeys, notify: tuple[Notifications, str]
) -> None:
    async with serving(app_for(keys, refund_mode="processing")) as base:
        p = _provider(keys, base, notify[1])
        try:
            req = _order()
            session = (await p.create_payment(req)).session_id
            await _pay(base, session)
            outcome = await p.refund(_refund(req, session, 3000))
            assert outcome.status is RefundStatus.PENDING
            async with httpx.AsyncClient() as http:
                r = await http.post(f"{base}/_fake/refunds/{outcome.provider_refund_id}/succeed")
            assert r.status_code == 200, r.text
            assert r.json()["notify"]["status"] == 200
            assert (await p.client.query_refund(outcome.provider_refund_id)).status == "SUCCESS"
        finally:
            await p.aclose()
    _headers, body = notify[0].received[-1]
    n = parse_notification(body)
    assert n.event_type == "REFUND.SUCCESS"
    resource = orjson.loads(decrypt_resource(n.resource, keys.apiv3_key))
    assert resource["out_refund_no"] == outcome.provider_refund_id
    assert resource["amount"]["refund"] == 3000


async def test_close_unpaid_closed_paid_and_unknown(provider: WeChatPayProvider, fake: str) -> None:
    req = _order()
    session = (await provider.create_payment(req)).session_id
    await provider.close(session, "wechat_pay_native")
    assert (await provider.client.query(session))["trade_state"] == "CLOSED"
    await provider.close(session, "wechat_pay_native")  # already closed: fine
    # A closed order cannot be paid any more.
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{fake}/_fake/transactions/{session}/pay")
    assert r.json()["code"] == "ORDER_CLOSED"

    paid = _order()
    session = (await provider.create_payment(paid)).session_id
    await _pay(fake, session)
    await provider.close(session, "wechat_pay_native")  # too late, not an error
    assert (await provider.client.query(session))["trade_state"] == "SUCCESS"

    await provider.close(uuid.uuid4().hex, "wechat_pay_native")  # never reached WeChat Pay


async def test_answers_that_do_not_verify_are_refused(
    keys: WeChatPayKeys, stranger: WeChatPayKeys, fake: str
) -> None:
    # Signed by a key that is not the platform key we know under that id.
    forged = _provider(
        keys, fake, "http://127.0.0.1:9/n", platform_public_key=stranger.platform_public_key
    )
    # Signed under a key id we do not know.
    unknown = _provider(keys, fake, "http://127.0.0.1:9/n", platform_public_key_id="PUB_KEY_ID_X")
    try:
        for p in (forged, unknown):
            with pytest.raises(ProviderError, match="not trusted"):
                await p.create_payment(_order())
            with pytest.raises(ProviderError, match="not trusted"):
                await p.close(uuid.uuid4().hex, "wechat_pay_native")
    finally:
        await forged.aclose()
        await unknown.aclose()


async def test_a_request_signed_with_another_merchant_key_is_refused(
    keys: WeChatPayKeys, stranger: WeChatPayKeys, fake: str
) -> None:
    p = _provider(
        keys, fake, "http://127.0.0.1:9/n", merchant_private_key=stranger.merchant_private_key
    )
    try:
        with pytest.raises(ProviderError, match="SIGN_ERROR"):
            await p.create_payment(_order())
    finally:
        await p.aclose()


async def test_unreachable_wechat_pay_is_a_provider_error(keys: WeChatPayKeys) -> None:
    p = _provider(keys, "http://127.0.0.1:9", "http://127.0.0.1:9/n", max_retries=1)
    try:
        with pytest.raises(ProviderError, match="unreachable"):
            await p.create_payment(_order())
    finally:
        await p.aclose()
