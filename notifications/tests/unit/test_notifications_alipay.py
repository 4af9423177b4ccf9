"""Alipay notifications -> paystream events (pure), and the reprocessing entry point."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from paystream.devtools.fakes.alipay import build_notification, encode_form
from paystream.notifications.errors import MalformedPayload
from paystream.notifications.normalized import Outcome
from paystream.notifications.providers.alipay.normalize import normalize, normalize_raw, parse_form
from paystream.shared.events import (
    MAX_AMOUNT_MINOR,
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundReportedV1,
    WebhookReceivedV1,
    deterministic_id,
    refund_event_id,
)
from paystream.shared.providers import alipay as ali

APP_ID = "2021000000000002"
TRADE_NO = "2024050122001400000000000042"
OUT_TRADE_NO = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
FACTS = ali.OrderFacts("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "user-42", 1100, "standard")
RECEIVED = datetime(2024, 5, 1, 4, 0, 30, tzinfo=UTC)
PAID = datetime(2024, 5, 1, 4, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def note(key: rsa.RSAPrivateKey, **kw: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "alipay_private_key": key,
        "app_id": APP_ID,
        "out_trade_no": OUT_TRADE_NO,
        "trade_no": TRADE_NO,
        "trade_status": ali.TRADE_SUCCESS,
        "total_amount": "88.80",
        "passback_params": ali.encode_passback(FACTS),
        "notify_id": "n-success",
        "notify_time": datetime(2024, 5, 1, 4, 0, 1, tzinfo=UTC),
        "gmt_payment": PAID,
    }
    args.update(kw)
    return build_notification(**args)


def test_trade_success_is_one_payment(key: rsa.RSAPrivateKey) -> None:
    n = normalize(note(key), received_at=RECEIVED)
    assert n.outcome is Outcome.PAYMENT_SUCCEEDED
    [(k, ev)] = n.keyed()
    assert k == FACTS.user_id
    assert ev.id == deterministic_id("alipay", TRADE_NO, "payment")
    assert ev.subject == FACTS.order_id
    assert ev.time == PAID
    assert ev.data == PaymentSucceededV1(
        order_id=FACTS.order_id,
        user_id=FACTS.user_id,
        package_id="standard",
        credits=1100,
        amount_minor=8880,
        currency="CNY",
        provider="alipay",
        provider_event_id="n-success",
        provider_payment_id=TRADE_NO,
        provider_session_id=OUT_TRADE_NO,
        paid_at=PAID,
    )


def test_trade_finished_after_success_is_the_same_payment(key: rsa.RSAPrivateKey) -> None:
    success = normalize(note(key), received_at=RECEIVED)
    finished = normalize(
        note(key, trade_status=ali.TRADE_FINISHED, notify_id="n-finished"), received_at=RECEIVED
    )
    assert finished.outcome is Outcome.PAYMENT_SUCCEEDED
    assert finished.keyed()[0][1].id == success.keyed()[0][1].id
    assert finished.keyed()[0][1].data.provider_event_id == "n-finished"  # type: ignore[attr-defined]


def test_trade_closed_unpaid_is_a_failure(key: rsa.RSAPrivateKey) -> None:
    closed_at = datetime(2024, 5, 1, 4, 30, tzinfo=UTC)
    form = note(key, trade_status=ali.TRADE_CLOSED, gmt_payment=None, gmt_close=closed_at)
    assert "gmt_payment" not in form
    n = normalize(form, received_at=RECEIVED)
    assert n.outcome is Outcome.PAYMENT_FAILED
    [(k, ev)] = n.keyed()
    assert k == FACTS.user_id
    assert isinstance(ev.data, PaymentFailedV1)
    assert ev.id == deterministic_id("alipay", TRADE_NO, "payment.failed")
    assert ev.id != deterministic_id("alipay", TRADE_NO, "payment")
    assert (ev.data.failed_at, ev.data.provider_session_id) == (closed_at, OUT_TRADE_NO)


def test_trade_closed_after_payment_without_refund_details_is_not_a_failure(
    key: rsa.RSAPrivateKey,
) -> None:
    n = normalize(note(key, trade_status=ali.TRADE_CLOSED), received_at=RECEIVED)
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.events == ()
    assert n.user_id == FACTS.user_id


def test_wait_buyer_pay_and_unknown_statuses_publish_nothing(key: rsa.RSAPrivateKey) -> None:
    waiting = normalize(
        note(key, trade_status=ali.WAIT_BUYER_PAY, gmt_payment=None), received_at=RECEIVED
    )
    assert (waiting.outcome, waiting.events, waiting.ignored) == (
        Outcome.AWAITING_PAYMENT,
        (),
        False,
    )
    odd = normalize(note(key, trade_status="TRADE_PENDING"), received_at=RECEIVED)
    assert (odd.outcome, odd.events, odd.ignored) == (Outcome.UNHANDLED_TYPE, (), True)


def test_partial_refund_notification_reports_the_refund_and_repeats_the_payment(
    key: rsa.RSAPrivateKey,
) -> None:
    refunded_at = datetime(2024, 5, 2, 1, 2, 3, 320000, tzinfo=UTC)
    form = note(
        key,
        notify_id="n-refund",
        out_biz_no="refund-1",
        refund_fee="30.00",
        gmt_refund=refunded_at,
    )
    assert form["gmt_refund"].endswith(".320")
    n = normalize(form, received_at=RECEIVED)
    assert n.outcome is Outcome.REFUND_SUCCEEDED
    (pk, payment), (rk, refund) = n.keyed()
    assert pk == rk == FACTS.user_id
    assert payment.id == deterministic_id("alipay", TRADE_NO, "payment")
    # refund_fee is cumulative: a report for checkout, which announces the refund's own amount
    # under refund_event_id("succeeded", ...); never an amount ledger or invoicing applies.
    assert refund.id == refund_event_id("reported", "alipay", "refund-1")
    assert refund.id != refund_event_id("succeeded", "alipay", "refund-1")
    assert refund.time == refunded_at
    assert refund.data == RefundReportedV1(
        order_id=FACTS.order_id,
        user_id=FACTS.user_id,
        provider="alipay",
        provider_refund_id="refund-1",
        provider_payment_id=TRADE_NO,
        amount_minor=None,
        refunded_total_minor=3000,
        currency="CNY",
        refunded_at=refunded_at,
    )


def test_full_refund_closes_the_trade_and_is_a_refund_not_a_failure(
    key: rsa.RSAPrivateKey,
) -> None:
    form = note(
        key,
        trade_status=ali.TRADE_CLOSED,
        out_biz_no="refund-2",
        refund_fee="88.80",
        gmt_refund=RECEIVED,
    )
    n = normalize(form, received_at=RECEIVED)
    assert n.outcome is Outcome.REFUND_SUCCEEDED
    assert [type(ev.data) for _, ev in n.keyed()] == [PaymentSucceededV1, RefundReportedV1]
    assert n.keyed()[1][1].data.refunded_total_minor == 8880  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        ({"out_biz_no": "r", "refund_fee": "0.00"}, "refund_fee is zero"),
        ({"out_biz_no": "r", "refund_fee": "-1"}, "refund_fee is not an amount"),
        ({"refund_fee": "1.00"}, "without out_biz_no"),
        ({"total_amount": "88.8.0"}, "total_amount is not an amount"),
        ({"total_amount": "1e5"}, "total_amount is not an amount"),
    ],
)
def test_unreadable_amounts_publish_nothing_and_say_why(
    key: rsa.RSAPrivateKey, extra: dict[str, str], detail: str
) -> None:
    n = normalize(note(key, extra=extra), received_at=RECEIVED)
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.events == ()
    assert n.detail is not None
    assert detail in n.detail


def test_no_passback_is_not_ours_and_a_bad_one_is_invalid(key: rsa.RSAPrivateKey) -> None:
    n = normalize(note(key, passback_params=None), received_at=RECEIVED)
    assert (n.outcome, n.events, n.ignored) == (Outcome.NOT_OURS, (), True)
    bad = normalize(note(key, passback_params="order_id%3Do"), received_at=RECEIVED)
    assert (bad.outcome, bad.events) == (Outcome.INVALID_METADATA, ())
    assert bad.detail is not None
    assert "user_id" in bad.detail


def test_times_fall_back_to_notify_time_then_reception(key: rsa.RSAPrivateKey) -> None:
    form = note(key)
    del form["gmt_payment"]
    [(_, ev)] = normalize(form, received_at=RECEIVED).keyed()
    assert ev.time == datetime(2024, 5, 1, 4, 0, 1, tzinfo=UTC)
    del form["notify_time"]
    [(_, ev)] = normalize(form, received_at=RECEIVED).keyed()
    assert ev.time == RECEIVED


@pytest.mark.parametrize("missing", ["notify_id", "trade_no", "out_trade_no", "trade_status"])
def test_a_notification_without_its_identity_is_malformed(
    key: rsa.RSAPrivateKey, missing: str
) -> None:
    form = note(key)
    del form[missing]
    with pytest.raises(MalformedPayload, match=missing):
        normalize(form, received_at=RECEIVED)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"a=1&a=2", "repeated"),
        (b"\xff\xfe=1", "UTF-8"),
        (b"novalue", "form-encoded"),
    ],
)
def test_parse_form_refusals(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        parse_form(body)


def test_parse_form_round_trips_the_notification(key: rsa.RSAPrivateKey) -> None:
    form = note(key, subject="标准包 & more=1")
    assert parse_form(encode_form(form)) == form


def test_reprocessing_a_raw_record_gives_the_same_events_byte_for_byte(
    key: rsa.RSAPrivateKey,
) -> None:
    form = note(key, out_biz_no="refund-9", refund_fee="10.00", gmt_refund=RECEIVED)
    body = encode_form(form).decode()
    raw = WebhookReceivedV1(
        provider="alipay",
        provider_event_id=form["notify_id"],
        provider_event_type="refund.TRADE_SUCCESS",
        content_type="application/x-www-form-urlencoded",
        body=body,
        received_at=RECEIVED,
    )
    live = normalize(parse_form(body), received_at=RECEIVED).keyed()
    again = normalize_raw(raw).keyed()
    assert [(k, ev.id, ev.value()) for k, ev in again] == [(k, ev.id, ev.value()) for k, ev in live]
    assert len(again) == 2
    with pytest.raises(MalformedPayload):
        normalize_raw(raw.model_copy(update={"provider": "stripe"}))


# ---- absurd values (issue 10) -----------------------------------------------------------------
# An amount above MAX_AMOUNT_MINOR or a currency paystream does not know becomes no event, no
# exception (a 500 the provider would retry forever) and no dead letter, but an INVALID_METADATA
# outcome that needs an operator: the pipeline keeps the notification in webhooks.raw, answers
# success and logs it as an error.

TOO_MUCH = MAX_AMOUNT_MINOR + 1


@pytest.mark.parametrize(
    "kw",
    [
        {"total_amount": "90071992547409.93"},  # MAX_AMOUNT_MINOR + 1 fen
        {"total_amount": "9" * 30},
        {"extra": {"out_biz_no": "r", "refund_fee": "90071992547409.93"}},
    ],
)
def test_an_absurd_amount_needs_an_operator(key: rsa.RSAPrivateKey, kw: dict[str, Any]) -> None:
    assert MAX_AMOUNT_MINOR < 9007199254740993
    n = normalize(note(key, **kw), received_at=RECEIVED)
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.needs_operator
    assert n.events == ()
