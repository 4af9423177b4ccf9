"""POST /webhooks/alipay through the app (lifespan entered, ASGI transport) on the real Kafka
broker, each test with its own topics: what is answered, and everything the topics hold after."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from paystream.checkout.providers.alipay_client import AlipayClient
from paystream.devtools.fakes import serving
from paystream.devtools.fakes.alipay import build_notification, encode_form
from paystream.devtools.fakes.alipay import create_app as create_fake
from paystream.notifications.providers.alipay.normalize import normalize_raw
from paystream.notifications.providers.alipay.settings import AlipaySettings
from paystream.shared.events import (
    Envelope,
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundReportedV1,
    WebhookReceivedV1,
    deterministic_id,
    refund_event_id,
)
from paystream.shared.providers import alipay as ali
from paystream.shared.providers.keys import private_key_pem, public_key_pem

if TYPE_CHECKING:
    from conftest import Ingest, Record, StartIngest

pytestmark = pytest.mark.integration

# Deletes every topic under a prefix (the root conftest's `delete_topics`).
DeleteTopics = Callable[[str], Awaitable[None]]

APP_ID = "2021000000000003"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


@dataclass(frozen=True)
class Keys:
    alipay: rsa.RSAPrivateKey
    merchant: rsa.RSAPrivateKey
    attacker: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    def gen() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(gen(), gen(), gen())


def alipay(keys: Keys) -> AlipaySettings:
    return AlipaySettings(app_id=APP_ID, public_key=public_key_pem(keys.alipay))


async def post(ingest: Ingest, form: dict[str, str] | bytes, **headers: str) -> httpx.Response:
    body = form if isinstance(form, bytes) else encode_form(form)
    return await ingest.http.post(
        "/webhooks/alipay", content=body, headers={"Content-Type": FORM, **headers}
    )


@pytest.fixture
async def ingest(start_ingest: StartIngest, keys: Keys) -> Ingest:
    return await start_ingest(providers={"alipay": alipay(keys)})


@dataclass(frozen=True)
class Trade:
    facts: ali.OrderFacts
    out_trade_no: str
    trade_no: str


def new_trade() -> Trade:
    order_id = str(uuid.uuid4())
    return Trade(
        ali.OrderFacts(order_id, f"user-{uuid.uuid4().hex[:8]}", 1100, "standard"),
        ali.out_trade_no_for(order_id),
        "2024" + uuid.uuid4().hex[:24],
    )


def notification(
    keys: Keys, trade: Trade, *, key: rsa.RSAPrivateKey | None = None, **kw: Any
) -> dict[str, str]:
    args: dict[str, Any] = {
        "alipay_private_key": key or keys.alipay,
        "app_id": APP_ID,
        "out_trade_no": trade.out_trade_no,
        "trade_no": trade.trade_no,
        "trade_status": ali.TRADE_SUCCESS,
        "total_amount": "88.80",
        "passback_params": ali.encode_passback(trade.facts),
    }
    args.update(kw)
    return build_notification(**args)


def envelope(rec: Record) -> Envelope:
    assert rec.value is not None
    return Envelope.from_bytes(rec.value)


# --- accepted -------------------------------------------------------------------------------


async def test_signed_payment_notification_is_success_after_raw_and_payment_are_on_kafka(
    ingest: Ingest, keys: Keys
) -> None:
    trade = new_trade()
    form = notification(keys, trade)
    body = encode_form(form)

    r = await post(ingest, body)

    assert r.status_code == 200, r.text
    assert r.text == "success"
    assert r.headers["content-type"].startswith("text/plain")
    found = await ingest.records()
    [raw_rec] = found[ingest.raw_topic]
    [pay_rec] = found[ingest.payments_topic]

    assert raw_rec.key == trade.facts.user_id.encode()
    raw_env = envelope(raw_rec)
    assert raw_env.id == deterministic_id("alipay", form["notify_id"], "raw")
    assert raw_env.source == "paystream/webhook-ingest/alipay"
    raw = raw_env.payload_as(WebhookReceivedV1)
    assert raw.body.encode() == body  # verbatim
    assert (raw.provider, raw.provider_event_id) == ("alipay", form["notify_id"])
    assert raw.provider_event_type == "trade.TRADE_SUCCESS"
    assert raw.content_type == FORM

    assert pay_rec.key == trade.facts.user_id.encode()
    pay_env = envelope(pay_rec)
    assert pay_env.id == deterministic_id("alipay", trade.trade_no, "payment")
    assert dict(pay_rec.headers)["ce_type"] == PaymentSucceededV1.TYPE.encode()
    paid = pay_env.payload_as(PaymentSucceededV1)
    assert (paid.order_id, paid.user_id, paid.credits, paid.package_id) == (
        trade.facts.order_id,
        trade.facts.user_id,
        1100,
        "standard",
    )
    assert (paid.amount_minor, paid.currency, paid.provider) == (8880, "CNY", "alipay")
    assert (paid.provider_payment_id, paid.provider_session_id) == (
        trade.trade_no,
        trade.out_trade_no,
    )
    assert paid.paid_at == ali.parse_time(form["gmt_payment"])

    # What a later `reprocess-raw` makes of the raw record is what was published, byte for byte.
    [(key, again)] = normalize_raw(raw).keyed()
    assert (key.encode(), again.value()) == (pay_rec.key, pay_rec.value)


async def test_redeliveries_and_trade_finished_are_one_payment(ingest: Ingest, keys: Keys) -> None:
    trade = new_trade()
    success = notification(keys, trade, notify_id=f"n-{uuid.uuid4().hex}")
    for _ in range(3):
        r = await post(ingest, success)
        assert (r.status_code, r.text) == (200, "success")
    finished = notification(
        keys, trade, trade_status=ali.TRADE_FINISHED, notify_id=f"n-{uuid.uuid4().hex}"
    )
    assert (await post(ingest, finished)).text == "success"

    found = await ingest.records()
    raw_ids = [envelope(r).id for r in found[ingest.raw_topic]]
    assert raw_ids == [deterministic_id("alipay", success["notify_id"], "raw")] * 3 + [
        deterministic_id("alipay", finished["notify_id"], "raw")
    ]
    payments = found[ingest.payments_topic]
    assert len(payments) == 4
    assert {envelope(r).id for r in payments} == {
        deterministic_id("alipay", trade.trade_no, "payment")
    }


async def test_trade_closed_is_a_failed_payment(ingest: Ingest, keys: Keys) -> None:
    trade = new_trade()
    form = notification(keys, trade, trade_status=ali.TRADE_CLOSED, gmt_close=datetime.now(UTC))
    assert (await post(ingest, form)).text == "success"
    found = await ingest.records()
    assert len(found[ingest.raw_topic]) == 1
    [rec] = found[ingest.payments_topic]
    failed = envelope(rec).payload_as(PaymentFailedV1)
    assert (failed.order_id, failed.provider_payment_id) == (trade.facts.order_id, trade.trade_no)
    assert envelope(rec).id == deterministic_id("alipay", trade.trade_no, "payment.failed")


async def test_refund_notification_publishes_a_report_of_the_cumulative_total(
    ingest: Ingest, keys: Keys
) -> None:
    trade = new_trade()
    refund_id = str(uuid.uuid4())
    form = notification(
        keys,
        trade,
        gmt_payment=datetime.now(UTC),
        out_biz_no=refund_id,
        refund_fee="20.00",
        gmt_refund=datetime.now(UTC),
    )
    assert (await post(ingest, form)).text == "success"
    found = await ingest.records()
    assert envelope(found[ingest.raw_topic][0]).payload_as(
        WebhookReceivedV1
    ).provider_event_type == ("refund.TRADE_SUCCESS")
    payment_rec, refund_rec = found[ingest.payments_topic]
    assert envelope(payment_rec).id == deterministic_id("alipay", trade.trade_no, "payment")
    assert envelope(refund_rec).id == refund_event_id("reported", "alipay", refund_id)
    refund = envelope(refund_rec).payload_as(RefundReportedV1)
    assert (
        refund.provider_refund_id,
        refund.refunded_total_minor,
        refund.amount_minor,
        refund.order_id,
    ) == (refund_id, 2000, None, trade.facts.order_id)
    assert refund_rec.key == trade.facts.user_id.encode()


async def test_waiting_and_foreign_notifications_are_kept_raw_only(
    ingest: Ingest, keys: Keys
) -> None:
    waiting = notification(keys, new_trade(), trade_status=ali.WAIT_BUYER_PAY)
    foreign = notification(keys, new_trade(), passback_params=None)
    for form in (waiting, foreign):
        r = await post(ingest, form)
        assert (r.status_code, r.text) == (200, "success")
    found = await ingest.records()
    assert len(found[ingest.raw_topic]) == 2
    assert found[ingest.payments_topic] == []


# --- refused: nothing published -------------------------------------------------------------


async def test_forged_tampered_foreign_app_and_downgraded_notifications_publish_nothing(
    ingest: Ingest, keys: Keys
) -> None:
    trade = new_trade()
    genuine = notification(keys, trade)
    no_sign = {k: v for k, v in genuine.items() if k != "sign"}
    cases: dict[str, tuple[dict[str, str] | bytes, int, str]] = {
        "forged": (notification(keys, trade, key=keys.attacker), 400, "signature_invalid"),
        "tampered amount": ({**genuine, "total_amount": "0.01"}, 400, "signature_invalid"),
        "tampered passback": (
            {
                **genuine,
                "passback_params": ali.encode_passback(
                    ali.OrderFacts(trade.facts.order_id, trade.facts.user_id, 999999)
                ),
            },
            400,
            "signature_invalid",
        ),
        "other app": (
            notification(keys, trade, app_id="2021999999999999"),
            400,
            "app_id_mismatch",
        ),
        "sign_type RSA": (notification(keys, trade, sign_type="RSA"), 400, "sign_type_unsupported"),
        "sign_type RSA on a genuine signature": (
            {**genuine, "sign_type": "RSA"},
            400,
            "sign_type_unsupported",
        ),
        "no sign": (no_sign, 400, "signature_missing"),
        "not a form": (b"novalue", 400, "malformed_payload"),
        "repeated parameter": (
            encode_form(genuine) + b"&trade_status=TRADE_SUCCESS",
            400,
            "malformed_payload",
        ),
        "not utf-8": (b"\xff=\xfe", 400, "malformed_payload"),
        "empty": (b"", 400, "malformed_payload"),
    }
    answers = {name: await post(ingest, form) for name, (form, _, _) in cases.items()}
    assert {n: (r.status_code, r.json()["error"]["code"]) for n, r in answers.items()} == {
        n: (status, code) for n, (_, status, code) in cases.items()
    }
    assert all(r.text != "success" for r in answers.values())
    assert await ingest.nothing_published()

    # The genuine notification goes through: the refusals were about what was changed.
    assert (await post(ingest, genuine)).text == "success"
    found = await ingest.records()
    assert (len(found[ingest.raw_topic]), len(found[ingest.payments_topic])) == (1, 1)


async def test_oversized_body_is_413_and_publishes_nothing(
    start_ingest: StartIngest, keys: Keys
) -> None:
    ingest = await start_ingest(providers={"alipay": alipay(keys)}, webhook_max_body_bytes=2048)
    form = notification(keys, new_trade(), extra={"body": "x" * 4096})
    r = await post(ingest, form)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert await ingest.nothing_published()


async def test_not_configured_is_503_and_publishes_nothing(
    start_ingest: StartIngest, keys: Keys
) -> None:
    ingest = await start_ingest(providers={"alipay": None})
    r = await post(ingest, notification(keys, new_trade()))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "provider_not_configured"
    assert await ingest.nothing_published()


async def test_kafka_unavailable_answers_fail(ingest: Ingest, keys: Keys) -> None:
    await ingest.app.state.producer.stop()
    r = await post(ingest, notification(keys, new_trade()))
    assert (r.status_code, r.text) == (503, "fail")


async def test_kafka_never_acknowledging_answers_fail_within_the_timeout(
    start_ingest: StartIngest, keys: Keys, unique_suffix: str, delete_topics: DeleteTopics
) -> None:
    prefix = f"absent-alipay-{unique_suffix}."
    ingest = await start_ingest(
        providers={"alipay": alipay(keys)},
        own_topics=False,
        topic_prefix=prefix,
        kafka_ack_timeout_s=0.5,
    )
    await delete_topics(prefix)  # the service made them at start: now nothing can acknowledge
    started = time.monotonic()
    r = await post(ingest, notification(keys, new_trade()))
    assert (r.status_code, r.text) == (503, "fail")
    assert time.monotonic() - started < 3.0


# --- the fake gateway's own notification, over real HTTP ------------------------------------


async def test_the_fake_gateway_pays_and_notifies_webhook_ingest_over_http(
    ingest: Ingest, keys: Keys
) -> None:
    fake = create_fake(private_key_pem(keys.alipay), public_key_pem(keys.merchant), APP_ID)
    trade = new_trade()
    async with serving(ingest.app) as ingest_url, serving(fake) as gateway:
        client = AlipayClient(
            gateway_url=f"{gateway}/gateway.do",
            app_id=APP_ID,
            private_key=private_key_pem(keys.merchant),
            alipay_public_key=public_key_pem(keys.alipay),
        )
        try:
            qr = await client.precreate(
                out_trade_no=trade.out_trade_no,
                total_amount=ali.parse_amount("88.80"),
                subject="credits",
                notify_url=f"{ingest_url}/webhooks/alipay",
                passback_params=ali.encode_passback(trade.facts),
            )
            assert qr.startswith("https://qr.alipay.com/")
            async with httpx.AsyncClient(base_url=gateway) as http:
                paid = (await http.post(f"/_fake/trades/{trade.out_trade_no}/pay")).json()
        finally:
            await client.aclose()
    assert paid["acknowledged"] is True, paid
    assert (paid["notify_status"], paid["notify_body"]) == (200, "success")
    found = await ingest.records()
    assert len(found[ingest.raw_topic]) == 1
    [rec] = found[ingest.payments_topic]
    payment = envelope(rec).payload_as(PaymentSucceededV1)
    assert (payment.order_id, payment.amount_minor, payment.provider_session_id) == (
        trade.facts.order_id,
        8880,
        trade.out_trade_no,
    )
    assert payment.provider_payment_id == paid["trade"]["trade_no"]


async def test_an_absurd_amount_is_success_kept_raw_and_not_published(
    ingest: Ingest, keys: Keys
) -> None:
    """Issue 10: one fen above MAX_AMOUNT_MINOR is held for an operator, not retried by Alipay."""
    form = notification(keys, new_trade(), total_amount="90071992547409.93")
    r = await post(ingest, form)
    assert (r.status_code, r.text) == (200, "success")
    found = await ingest.records()
    assert len(found[ingest.raw_topic]) == 1
    assert found[ingest.payments_topic] == []
