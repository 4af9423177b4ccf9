"""POST /webhooks/wechatpay through the app (lifespan entered) on the real Kafka broker, with
topics of its own per test: what is answered, and what the topics really hold afterwards."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from aiokafka import ConsumerRecord

from paystream.devtools.fakes.wechatpay import (
    SignedNotification,
    WeChatPayKeys,
    build_notification_body,
    generate_keys,
    refund_notification,
    refund_resource,
    sign_notification,
    transaction_notification,
    transaction_resource,
)
from paystream.notifications.providers.wechatpay.normalize import normalize_raw
from paystream.notifications.providers.wechatpay.raw import RAW_CONTENT_TYPE
from paystream.notifications.providers.wechatpay.settings import WeChatPaySettings
from paystream.shared.events import (
    MAX_AMOUNT_MINOR,
    Envelope,
    PaymentSucceededV1,
    RefundSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
    refund_event_id,
)
from paystream.shared.providers.wechatpay import (
    OrderFacts,
    encode_attach,
    encode_out_refund_no,
    out_trade_no_for,
)
from paystream.webhook_ingest.app import create_app
from paystream.webhook_ingest.settings import WebhookIngestSettings

if TYPE_CHECKING:
    from conftest import Ingest, StartIngest

pytestmark = pytest.mark.integration

PATH = "/webhooks/wechatpay"


@pytest.fixture(scope="session")
def keys() -> WeChatPayKeys:
    return generate_keys()


@pytest.fixture(scope="session")
def forger() -> WeChatPayKeys:
    return generate_keys()


def wechatpay(keys: WeChatPayKeys) -> WeChatPaySettings:
    return WeChatPaySettings(
        mchid=keys.mchid,
        apiv3_key=keys.apiv3_key,
        platform_public_key=keys.platform_public_key,
        platform_public_key_id=keys.platform_public_key_id,
    )


async def post(ingest: Ingest, n: SignedNotification, **headers: str) -> httpx.Response:
    return await ingest.http.post(PATH, content=n.body, headers={**n.headers, **headers})


@pytest.fixture
async def ingest(start_ingest: StartIngest, keys: WeChatPayKeys) -> Ingest:
    return await start_ingest(providers={"wechatpay": wechatpay(keys)})


def _facts() -> OrderFacts:
    return OrderFacts(str(uuid.uuid4()), str(uuid.uuid4()), 1100, "standard")


def _paid(
    keys: WeChatPayKeys,
    facts: OrderFacts,
    *,
    transaction_id: str = "4200000000202601020000000001",
    signer: WeChatPayKeys | None = None,
    apiv3_key: str | None = None,
    **kw: Any,
) -> SignedNotification:
    resource = transaction_resource(
        mchid=keys.mchid,
        appid=keys.appid,
        out_trade_no=out_trade_no_for(facts.order_id),
        transaction_id=transaction_id,
        total_fen=10000,
        attach=encode_attach(facts),
        success_time=datetime.fromisoformat("2026-01-02T11:00:00+08:00"),
    )
    return transaction_notification(
        resource,
        apiv3_key=apiv3_key or keys.apiv3_key,
        platform_private_key=(signer or keys).platform_private_key,
        platform_public_key_id=keys.platform_public_key_id,
        **kw,
    )


def _env(rec: ConsumerRecord) -> Envelope:
    return Envelope.from_bytes(rec.value)


async def test_a_signed_payment_is_published_raw_and_normalized_before_success(
    ingest: Ingest, keys: WeChatPayKeys
) -> None:
    facts = _facts()
    n = _paid(keys, facts, notification_id="EV-PAY-1")

    r = await post(ingest, n)

    assert r.status_code == 200, r.text
    assert r.json()["code"] == "SUCCESS"
    found = await ingest.records()
    [raw_rec] = found[ingest.raw_topic]
    [pay_rec] = found[ingest.payments_topic]
    assert raw_rec.key == pay_rec.key == facts.user_id.encode()

    raw_env = _env(raw_rec)
    assert raw_env.id == deterministic_id("wechatpay", "EV-PAY-1", "raw")
    raw = raw_env.payload_as(WebhookReceivedV1)
    assert (raw.provider, raw.provider_event_id) == ("wechatpay", "EV-PAY-1")
    assert (raw.provider_event_type, raw.content_type) == ("TRANSACTION.SUCCESS", RAW_CONTENT_TYPE)
    stored = orjson.loads(raw.body)
    assert stored["body"].encode() == n.body  # verbatim
    assert stored["headers"]["Wechatpay-Signature"] == n.headers["Wechatpay-Signature"]

    pay_env = _env(pay_rec)
    assert pay_env.id == deterministic_id("wechatpay", "4200000000202601020000000001", "payment")
    paid = pay_env.payload_as(PaymentSucceededV1)
    assert (paid.order_id, paid.user_id, paid.credits, paid.package_id) == (
        facts.order_id,
        facts.user_id,
        1100,
        "standard",
    )
    assert (paid.amount_minor, paid.currency, paid.provider) == (10000, "CNY", "wechatpay")
    assert paid.provider_session_id == out_trade_no_for(facts.order_id)
    # Reprocessing webhooks.raw needs no key and gives the very record that was published.
    [again] = normalize_raw(raw).events
    assert again.value() == pay_rec.value


async def test_duplicates_and_retries_are_the_same_envelopes(
    ingest: Ingest, keys: WeChatPayKeys
) -> None:
    facts = _facts()
    n = _paid(keys, facts, notification_id="EV-DUP")
    for _ in range(3):
        assert (await post(ingest, n)).status_code == 200
    # WeChat Pay's retry is a new delivery of the same notification, freshly signed.
    retry = _paid(keys, facts, notification_id="EV-DUP", timestamp=int(time.time()) - 60)
    assert (await post(ingest, retry)).status_code == 200
    found = await ingest.records()
    assert len(found[ingest.raw_topic]) == len(found[ingest.payments_topic]) == 4
    assert {_env(r).id for r in found[ingest.raw_topic]} == {
        deterministic_id("wechatpay", "EV-DUP", "raw")
    }
    assert len({_env(r).id for r in found[ingest.payments_topic]}) == 1


async def test_a_refund_notification_becomes_a_refund_event(
    ingest: Ingest, keys: WeChatPayKeys
) -> None:
    order_id, user_id, refund_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    orn = encode_out_refund_no(refund_id, user_id)
    n = refund_notification(
        refund_resource(
            mchid=keys.mchid,
            out_trade_no=out_trade_no_for(order_id),
            transaction_id="4200000000202601020000000009",
            out_refund_no=orn,
            refund_id="50300000000000000000000001",
            refund_status="SUCCESS",
            refund_fen=2500,
            total_fen=10000,
        ),
        apiv3_key=keys.apiv3_key,
        platform_private_key=keys.platform_private_key,
        platform_public_key_id=keys.platform_public_key_id,
    )
    r = await post(ingest, n)
    assert r.status_code == 200, r.text
    found = await ingest.records()
    assert len(found[ingest.raw_topic]) == 1
    [rec] = found[ingest.payments_topic]
    assert rec.key == user_id.encode()
    env = _env(rec)
    assert env.id == refund_event_id("succeeded", "wechatpay", orn)
    refund = env.payload_as(RefundSucceededV1)
    assert (refund.order_id, refund.user_id, refund.refund_id) == (order_id, user_id, refund_id)
    assert (refund.provider_refund_id, refund.amount_minor) == (orn, 2500)


async def test_an_unhandled_type_is_acknowledged_and_kept_raw_only(
    ingest: Ingest, keys: WeChatPayKeys
) -> None:
    body = build_notification_body(
        event_type="MCHTRANSFER.BILL.FINISHED",
        resource={"mchid": keys.mchid, "out_bill_no": "b1"},
        original_type="mch_payment",
        apiv3_key=keys.apiv3_key,
    )
    n = sign_notification(
        body,
        platform_private_key=keys.platform_private_key,
        platform_public_key_id=keys.platform_public_key_id,
    )
    r = await post(ingest, n)
    assert r.status_code == 200, r.text
    assert r.json()["ignored"] is True
    found = await ingest.records()
    assert (len(found[ingest.raw_topic]), len(found[ingest.payments_topic])) == (1, 0)


async def test_refused_notifications_publish_nothing(
    ingest: Ingest, keys: WeChatPayKeys, forger: WeChatPayKeys
) -> None:
    facts = _facts()
    good = _paid(keys, facts)
    tampered = SignedNotification(good.body.replace(b'"summary":"', b'"summary":"x'), good.headers)
    no_signature = SignedNotification(
        good.body, {k: v for k, v in good.headers.items() if k != "Wechatpay-Signature"}
    )
    other_mchid = transaction_notification(
        transaction_resource(
            mchid="1900000999",
            appid=keys.appid,
            out_trade_no=out_trade_no_for(facts.order_id),
            transaction_id="42",
            total_fen=1,
            attach=encode_attach(facts),
        ),
        apiv3_key=keys.apiv3_key,
        platform_private_key=keys.platform_private_key,
        platform_public_key_id=keys.platform_public_key_id,
    )
    not_json = sign_notification(
        b"{not json",
        platform_private_key=keys.platform_private_key,
        platform_public_key_id=keys.platform_public_key_id,
    )
    cases: list[tuple[str, SignedNotification, dict[str, str]]] = [
        ("signature_invalid", _paid(keys, facts, signer=forger), {}),
        ("signature_invalid", tampered, {}),
        ("timestamp_outside_tolerance", _paid(keys, facts, timestamp=int(time.time()) - 302), {}),
        ("timestamp_outside_tolerance", _paid(keys, facts, timestamp=int(time.time()) + 302), {}),
        ("unknown_serial", good, {"Wechatpay-Serial": "PUB_KEY_ID_UNKNOWN"}),
        ("signature_missing", no_signature, {}),
        ("resource_undecryptable", _paid(keys, facts, apiv3_key="k" * 32), {}),
        ("mchid_mismatch", other_mchid, {}),
        ("malformed_payload", not_json, {}),
    ]
    for code, n, extra in cases:
        r = await post(ingest, n, **extra)
        assert r.status_code == 400, (code, r.text)
        body = r.json()
        assert body["code"] == "FAIL", body
        assert body["error"]["code"] == code, body
        assert body["message"]
    # Proof the topics are read: the good one, posted last, is all there is.
    assert (await post(ingest, good)).status_code == 200
    found = await ingest.records()
    assert (len(found[ingest.raw_topic]), len(found[ingest.payments_topic])) == (1, 1)


async def test_without_wechatpay_settings_the_route_answers_503(
    start_ingest: StartIngest, keys: WeChatPayKeys
) -> None:
    ingest = await start_ingest(providers={"wechatpay": None})
    r = await post(ingest, _paid(keys, _facts()))
    assert r.status_code == 503
    assert r.json()["code"] == "FAIL"
    assert r.json()["error"]["code"] == "provider_not_configured"
    found = await ingest.records()
    assert (len(found[ingest.raw_topic]), len(found[ingest.payments_topic])) == (0, 0)


async def test_a_body_over_the_limit_is_refused(
    start_ingest: StartIngest, keys: WeChatPayKeys
) -> None:
    ingest = await start_ingest(
        providers={"wechatpay": wechatpay(keys)}, webhook_max_body_bytes=200
    )
    r = await post(ingest, _paid(keys, _facts()))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    found = await ingest.records()
    assert (len(found[ingest.raw_topic]), len(found[ingest.payments_topic])) == (0, 0)


def test_a_partial_or_invalid_configuration_fails_when_the_app_is_made(
    keys: WeChatPayKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "PAYSTREAM_WECHATPAY_MCHID": keys.mchid,
        "PAYSTREAM_WECHATPAY_APIV3_KEY": "short",
        "PAYSTREAM_WECHATPAY_PLATFORM_PUBLIC_KEY": keys.platform_public_key,
        "PAYSTREAM_WECHATPAY_PLATFORM_PUBLIC_KEY_ID": keys.platform_public_key_id,
    }
    for name in env:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAYSTREAM_WECHATPAY_MCHID", "1900000109")
    with pytest.raises(ValueError, match="partly configured"):
        create_app(WebhookIngestSettings())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="32 bytes"):
        create_app(WebhookIngestSettings())


@pytest.mark.parametrize(
    ("total_fen", "currency"),
    [(MAX_AMOUNT_MINOR + 1, "CNY"), (100, "XYZ")],
    ids=["amount", "currency"],
)
async def test_an_absurd_amount_or_currency_is_success_kept_raw_and_not_published(
    ingest: Ingest, keys: WeChatPayKeys, total_fen: int, currency: str
) -> None:
    """Issue 10: held for an operator (webhooks.raw), answered success so WeChat Pay stops."""
    facts = _facts()
    resource = transaction_resource(
        mchid=keys.mchid,
        appid=keys.appid,
        out_trade_no=out_trade_no_for(facts.order_id),
        transaction_id="4200000000202601020000000009",
        total_fen=total_fen,
        attach=encode_attach(facts),
        success_time=datetime.fromisoformat("2026-01-02T11:00:00+08:00"),
    )
    resource["amount"]["currency"] = currency
    n = transaction_notification(
        resource,
        apiv3_key=keys.apiv3_key,
        platform_private_key=keys.platform_private_key,
        platform_public_key_id=keys.platform_public_key_id,
    )
    r = await post(ingest, n)
    assert r.status_code == 200, r.text
    found = await ingest.records()
    assert (len(found[ingest.raw_topic]), len(found[ingest.payments_topic])) == (1, 0)
