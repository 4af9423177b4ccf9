"""What each WeChat Pay notification becomes (pure normalization), and the raw record's
reprocessing without any key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from paystream.devtools.fakes.wechatpay import (
    build_notification_body,
    refund_resource,
    transaction_resource,
)
from paystream.notifications.normalized import Normalized, Outcome
from paystream.notifications.providers.wechatpay.normalize import normalize, normalize_raw
from paystream.notifications.providers.wechatpay.raw import (
    RAW_CONTENT_TYPE,
    parse_raw_body,
    raw_body,
)
from paystream.shared.events import (
    MAX_AMOUNT_MINOR,
    PaymentFailedV1,
    PaymentSucceededV1,
    RefundFailedV1,
    RefundReportedV1,
    RefundSucceededV1,
    WebhookReceivedV1,
    deterministic_id,
    refund_event_id,
)
from paystream.shared.providers.wechatpay import (
    OrderFacts,
    SignedHeaders,
    decrypt_resource,
    encode_attach,
    encode_out_refund_no,
    out_trade_no_for,
    parse_notification,
)

APIV3 = "0123456789abcdef0123456789ABCDEF"
MCHID = "1900000109"
RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PAID_AT = "2026-01-02T11:00:00+08:00"


def _facts() -> OrderFacts:
    return OrderFacts(str(uuid.uuid4()), str(uuid.uuid4()), 1100, "standard")


def _tx(facts: OrderFacts, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "mchid": MCHID,
        "appid": "wx1",
        "out_trade_no": out_trade_no_for(facts.order_id),
        "transaction_id": "4200000000202601020000000001",
        "total_fen": 10000,
        "attach": encode_attach(facts),
        "success_time": datetime.fromisoformat(PAID_AT),
    }
    args.update(kw)
    return transaction_resource(**args)


def _normalize(event_type: str, resource: dict[str, Any], nid: str = "EV-1") -> Normalized:
    original = "refund" if event_type.startswith("REFUND.") else "transaction"
    body = build_notification_body(
        event_type=event_type,
        resource=resource,
        original_type=original,
        apiv3_key=APIV3,
        notification_id=nid,
    )
    n = parse_notification(body)
    decrypted = orjson.loads(decrypt_resource(n.resource, APIV3))
    return normalize(n, decrypted, received_at=RECEIVED)


def test_transaction_success_is_a_payment_with_the_attach_facts() -> None:
    facts = _facts()
    n = _normalize("TRANSACTION.SUCCESS", _tx(facts))
    assert n.outcome is Outcome.PAYMENT_SUCCEEDED
    [n_event] = n.events
    assert n_event.id == deterministic_id("wechatpay", "4200000000202601020000000001", "payment")
    assert n_event.subject == facts.order_id
    paid = n_event.data
    assert isinstance(paid, PaymentSucceededV1)
    assert (paid.order_id, paid.user_id, paid.credits, paid.package_id) == (
        facts.order_id,
        facts.user_id,
        1100,
        "standard",
    )
    assert (paid.amount_minor, paid.currency, paid.provider) == (10000, "CNY", "wechatpay")
    assert paid.provider_payment_id == "4200000000202601020000000001"
    assert paid.provider_session_id == out_trade_no_for(facts.order_id)
    assert paid.provider_event_id == "EV-1"
    assert paid.paid_at == datetime(2026, 1, 2, 3, 0, 0, tzinfo=UTC)
    assert (n.user_id, n.order_id) == (facts.user_id, facts.order_id)


def test_the_same_transaction_notified_twice_is_the_same_event_id() -> None:
    facts = _facts()
    a = _normalize("TRANSACTION.SUCCESS", _tx(facts), nid="EV-1")
    b = _normalize("TRANSACTION.SUCCESS", _tx(facts), nid="EV-2")
    [a_event] = a.events
    [b_event] = b.events
    assert a_event.id == b_event.id


@pytest.mark.parametrize("state", ["CLOSED", "REVOKED", "PAYERROR"])
def test_a_closed_or_failed_transaction_is_a_payment_failure(state: str) -> None:
    facts = _facts()
    n = _normalize("TRANSACTION.CLOSED", _tx(facts, trade_state=state))
    assert n.outcome is Outcome.PAYMENT_FAILED
    [n_event] = n.events
    failed = n_event.data
    assert isinstance(failed, PaymentFailedV1)
    assert (failed.order_id, failed.user_id) == (facts.order_id, facts.user_id)
    assert failed.reason.startswith(state)
    assert n_event.id != deterministic_id("wechatpay", "4200000000202601020000000001", "payment")


def test_refund_success_is_a_refund_attributed_through_out_refund_no() -> None:
    order_id, user_id, refund_id = str(uuid.uuid4()), "user_42", str(uuid.uuid4())
    orn = encode_out_refund_no(refund_id, user_id)
    resource = refund_resource(
        mchid=MCHID,
        out_trade_no=out_trade_no_for(order_id),
        transaction_id="4200000000202601020000000001",
        out_refund_no=orn,
        refund_id="50000000000000000000000001",
        refund_status="SUCCESS",
        refund_fen=2500,
        total_fen=10000,
        success_time=datetime.fromisoformat(PAID_AT),
    )
    n = _normalize("REFUND.SUCCESS", resource)
    assert n.outcome is Outcome.REFUND_SUCCEEDED
    [n_event] = n.events
    assert n_event.id == refund_event_id("succeeded", "wechatpay", orn)
    refund = n_event.data
    assert isinstance(refund, RefundSucceededV1)
    assert (refund.order_id, refund.user_id, refund.refund_id) == (order_id, user_id, refund_id)
    assert (refund.provider_refund_id, refund.amount_minor, refund.currency) == (orn, 2500, "CNY")
    assert refund.provider_payment_id == "4200000000202601020000000001"
    assert refund.refund_key == f"wechatpay:{orn}"


@pytest.mark.parametrize("status", ["ABNORMAL", "CLOSED"])
def test_refund_abnormal_or_closed_is_a_refund_failure(status: str) -> None:
    order_id, refund_id = str(uuid.uuid4()), str(uuid.uuid4())
    user_id = str(uuid.uuid4())
    orn = encode_out_refund_no(refund_id, user_id)
    resource = refund_resource(
        mchid=MCHID,
        out_trade_no=out_trade_no_for(order_id),
        transaction_id="42",
        out_refund_no=orn,
        refund_id="50",
        refund_status=status,
        refund_fen=100,
        total_fen=10000,
    )
    n = _normalize(f"REFUND.{status}", resource)
    assert n.outcome is Outcome.REFUND_FAILED
    [n_event] = n.events
    assert n_event.id == refund_event_id("failed", "wechatpay", orn)
    failed = n_event.data
    assert isinstance(failed, RefundFailedV1)
    assert (failed.order_id, failed.user_id, failed.refund_id) == (order_id, user_id, refund_id)


def test_what_is_not_ours_or_unreadable_publishes_no_event() -> None:
    facts = _facts()
    cases: list[tuple[str, dict[str, Any], Outcome]] = [
        ("TRANSACTION.SUCCESS", _tx(facts, attach=None), Outcome.NOT_OURS),
        ("TRANSACTION.SUCCESS", _tx(facts, attach="store #7"), Outcome.NOT_OURS),
        ("TRANSACTION.SUCCESS", _tx(facts, attach="ps1|x|y|z|"), Outcome.INVALID_METADATA),
        # The attach names another order than out_trade_no: refused as unreadable.
        (
            "TRANSACTION.SUCCESS",
            _tx(facts, out_trade_no=uuid.uuid4().hex),
            Outcome.INVALID_METADATA,
        ),
        ("TRANSACTION.SUCCESS", _tx(facts, currency="XXX"), Outcome.INVALID_METADATA),
        ("TRANSACTION.SUCCESS", _tx(facts, transaction_id=""), Outcome.INVALID_METADATA),
        (
            "TRANSACTION.SUCCESS",
            _tx(facts, trade_state="NOTPAY"),
            Outcome.AWAITING_PAYMENT,
        ),
        ("MCHTRANSFER.BILL.FINISHED", {"x": 1}, Outcome.UNHANDLED_TYPE),
    ]
    for event_type, resource, outcome in cases:
        n = _normalize(event_type, resource)
        assert (n.outcome, n.events) == (outcome, ()), (event_type, resource.get("attach"))
        assert n.ignored


def test_a_dashboard_refund_is_reported_with_its_trade_for_checkout_to_match() -> None:
    # Made in the merchant dashboard: out_refund_no is not ours, so no user can be named, but
    # out_trade_no names the order and the amount is the refund's own.
    order = uuid.uuid4()
    dashboard = refund_resource(
        mchid=MCHID,
        out_trade_no=order.hex,
        transaction_id="42",
        out_refund_no="1217752501201407033233368018",
        refund_id="50",
        refund_status="SUCCESS",
        refund_fen=100,
        total_fen=1000,
    )
    n = _normalize("REFUND.SUCCESS", dashboard)
    assert n.outcome is Outcome.REFUND_REPORTED
    assert (n.ignored, n.needs_operator, n.order_id, n.user_id) == (False, False, str(order), None)
    [(key, ev)] = n.keyed()
    assert key == "wechatpay:42"
    assert ev.id == refund_event_id("reported", "wechatpay", "1217752501201407033233368018")
    assert ev.data == RefundReportedV1(
        order_id=str(order),
        provider="wechatpay",
        provider_refund_id="1217752501201407033233368018",
        provider_payment_id="42",
        amount_minor=100,
        currency="CNY",
        refunded_at=ev.time,
    )


def test_refunds_we_cannot_attribute_publish_nothing() -> None:
    base: dict[str, Any] = {
        "mchid": MCHID,
        "out_trade_no": uuid.uuid4().hex,
        "transaction_id": "42",
        "refund_id": "50",
        "refund_fen": 100,
        "total_fen": 1000,
    }
    # A dashboard refund that did not go through: no money moved, nothing to match.
    dashboard = refund_resource(
        out_refund_no="1217752501201407033233368018", refund_status="ABNORMAL", **base
    )
    n = _normalize("REFUND.ABNORMAL", dashboard)
    assert (n.outcome, n.events) == (Outcome.REFUND_UNATTRIBUTED, ())
    ours = encode_out_refund_no(str(uuid.uuid4()), "u1")
    mismatch = refund_resource(out_refund_no=ours, refund_status="ABNORMAL", **base)
    n = _normalize("REFUND.SUCCESS", mismatch)
    assert (n.outcome, n.events) == (Outcome.INVALID_METADATA, ())
    zero = refund_resource(out_refund_no=ours, refund_status="SUCCESS", **{**base, "refund_fen": 0})
    assert _normalize("REFUND.SUCCESS", zero).outcome is Outcome.INVALID_METADATA


def test_the_raw_record_reprocesses_to_the_same_event_without_a_key() -> None:
    facts = _facts()
    body = build_notification_body(
        event_type="TRANSACTION.SUCCESS",
        resource=_tx(facts),
        original_type="transaction",
        apiv3_key=APIV3,
        notification_id="EV-9",
    )
    n = parse_notification(body)
    plaintext = decrypt_resource(n.resource, APIV3)
    live = normalize(n, orjson.loads(plaintext), received_at=RECEIVED)
    signed = SignedHeaders("1767322800", "nonce", "sig", "PUB_KEY_ID_1")
    raw = WebhookReceivedV1(
        provider="wechatpay",
        provider_event_id="EV-9",
        provider_event_type="TRANSACTION.SUCCESS",
        content_type=RAW_CONTENT_TYPE,
        body=raw_body(signed, body.decode(), plaintext.decode()),
        received_at=RECEIVED,
    )
    stored = parse_raw_body(raw.body)
    assert stored.body.encode() == body  # the notification verbatim, byte for byte
    assert stored.headers["Wechatpay-Serial"] == "PUB_KEY_ID_1"
    again = normalize_raw(raw)
    assert again == live
    [again_event] = again.events
    [live_event] = live.events
    assert again_event.value() == live_event.value()


# ---- absurd values (issue 10) -----------------------------------------------------------------
# An amount above MAX_AMOUNT_MINOR or a currency paystream does not know becomes no event, no
# exception (a 500 the provider would retry forever) and no dead letter, but an INVALID_METADATA
# outcome that needs an operator: the pipeline keeps the notification in webhooks.raw, answers
# success and logs it as an error.

TOO_MUCH = MAX_AMOUNT_MINOR + 1


@pytest.mark.parametrize("total_fen", [TOO_MUCH, 2**63 - 1])
def test_a_payment_with_an_absurd_amount_needs_an_operator(total_fen: int) -> None:
    facts = _facts()
    n = _normalize("TRANSACTION.SUCCESS", _tx(facts, total_fen=total_fen))
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.needs_operator
    assert n.events == ()
    assert n.user_id == facts.user_id


def test_a_payment_in_an_unknown_currency_needs_an_operator() -> None:
    resource = _tx(_facts())
    resource["amount"]["currency"] = "XYZ"
    n = _normalize("TRANSACTION.SUCCESS", resource)
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.needs_operator
    assert n.events == ()


@pytest.mark.parametrize(("refund_fen", "currency"), [(TOO_MUCH, "CNY"), (100, "XYZ")])
def test_a_refund_with_an_absurd_amount_or_currency_needs_an_operator(
    refund_fen: int, currency: str
) -> None:
    resource = refund_resource(
        mchid=MCHID,
        out_trade_no=out_trade_no_for(str(uuid.uuid4())),
        transaction_id="4200000000202601020000000001",
        out_refund_no=encode_out_refund_no(str(uuid.uuid4()), "user_42"),
        refund_id="50000000000000000000000001",
        refund_status="SUCCESS",
        refund_fen=refund_fen,
        total_fen=10000,
        success_time=datetime.fromisoformat(PAID_AT),
    )
    resource["amount"]["currency"] = currency
    n = _normalize("REFUND.SUCCESS", resource)
    assert n.outcome is Outcome.INVALID_METADATA
    assert n.needs_operator
    assert n.events == ()
