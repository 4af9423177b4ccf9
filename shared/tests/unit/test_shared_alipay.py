"""Alipay's wire format and RSA2 signatures, cross-checked against Alipay's Python SDK
(`python-alipay-sdk`, import name `alipay`), which signs with PyCryptodome: an independent
implementation of the same scheme."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

import pytest

from paystream.devtools.fakes.alipay_sdk import (
    APP_ID,
    Keys,
    alipay_side_sdk,
    merchant_sdk,
    new_keys,
)
from paystream.devtools.fakes.signing import sign_notification
from paystream.shared.money import Money
from paystream.shared.providers import alipay as ali


@pytest.fixture(scope="module")
def keys() -> Keys:
    return new_keys()


# --- the string to sign and RSA2 ------------------------------------------------------------


def test_signing_string_is_sorted_without_sign_and_empty_values() -> None:
    params = {"b": "2", "a": "1", "sign": "x", "empty": "", "c": "a=b&c"}
    assert ali.request_signing_string(params) == "a=1&b=2&c=a=b&c"
    params["sign_type"] = "RSA2"
    assert ali.request_signing_string(params) == "a=1&b=2&c=a=b&c&sign_type=RSA2"
    assert ali.notification_signing_string(params) == "a=1&b=2&c=a=b&c"


def test_rsa2_round_trip_and_refusals(keys: Keys) -> None:
    sig = ali.rsa2_sign("a=1&b=2", keys.merchant)
    pub = keys.merchant.public_key()
    assert ali.rsa2_verify("a=1&b=2", sig, pub)
    assert not ali.rsa2_verify("a=1&b=3", sig, pub)
    assert not ali.rsa2_verify("a=1&b=2", sig, keys.other.public_key())
    assert not ali.rsa2_verify("a=1&b=2", "not base64!", pub)
    assert not ali.rsa2_verify("a=1&b=2", "", pub)
    assert not ali.rsa2_verify("a=1&b=2", "签名", pub)


# --- notifications --------------------------------------------------------------------------


def _notification() -> dict[str, str]:
    return {
        "notify_time": "2024-05-01 12:00:01",
        "notify_type": "trade_status_sync",
        "notify_id": "ac05099524730693a8b330c5ecf72da9786",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2024050122001400000000000001",
        "out_trade_no": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "88.88",
        "subject": "标准包 credits",
        "passback_params": quote("order_id=o1&user_id=u1&credits=100", safe=""),
        "gmt_payment": "2024-05-01 12:00:00",
    }


def test_the_sdk_verifies_notifications_we_sign(keys: Keys) -> None:
    form = sign_notification(_notification(), keys.alipay)
    assert form["sign_type"] == "RSA2"
    data = dict(form)
    sign = data.pop("sign")
    assert merchant_sdk(keys).verify(dict(data), sign)
    tampered = {**data, "total_amount": "0.01"}
    assert not merchant_sdk(keys).verify(tampered, sign)


def test_we_verify_notifications_the_sdk_signs(keys: Keys) -> None:
    data = _notification()
    # The SDK signs what it is given; sign_type is added afterwards and is not signed.
    sign = alipay_side_sdk(keys)._sign("&".join(f"{k}={v}" for k, v in sorted(data.items())))
    form = {**data, "sign": sign, "sign_type": "RSA2"}
    ali.verify_notification(form, public_key=keys.alipay.public_key(), app_id=APP_ID)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda f: f.pop("sign"), "signature_missing"),
        (lambda f: f.update(sign=""), "signature_missing"),
        (lambda f: f.update(sign_type="RSA"), "sign_type_unsupported"),
        (lambda f: f.pop("sign_type"), "sign_type_unsupported"),
        (lambda f: f.update(total_amount="0.01"), "signature_invalid"),
        (lambda f: f.update(extra="1"), "signature_invalid"),
        (lambda f: f.update(sign="AAAA" + f["sign"][4:]), "signature_invalid"),
        (lambda f: f.update(sign="%%%"), "signature_invalid"),
    ],
)
def test_notification_refusals(keys: Keys, change: object, reason: str) -> None:
    form = sign_notification(_notification(), keys.alipay)
    change(form)  # type: ignore[operator]
    with pytest.raises(ali.AlipaySignatureError) as exc:
        ali.verify_notification(form, public_key=keys.alipay.public_key(), app_id=APP_ID)
    assert exc.value.reason == reason


def test_notification_signed_by_another_key_or_for_another_app_is_refused(keys: Keys) -> None:
    forged = sign_notification(_notification(), keys.other)
    with pytest.raises(ali.AlipaySignatureError) as exc:
        ali.verify_notification(forged, public_key=keys.alipay.public_key(), app_id=APP_ID)
    assert exc.value.reason == "signature_invalid"
    other_app = sign_notification({**_notification(), "app_id": "2021999"}, keys.alipay)
    with pytest.raises(ali.AlipaySignatureError) as exc:
        ali.verify_notification(other_app, public_key=keys.alipay.public_key(), app_id=APP_ID)
    assert exc.value.reason == "app_id_mismatch"


def test_sign_type_is_outside_the_signed_string(keys: Keys) -> None:
    # Which is why it must be checked explicitly: the signature alone survives a change of it.
    form = sign_notification(_notification(), keys.alipay)
    downgraded = {**form, "sign_type": "RSA"}
    assert ali.rsa2_verify(
        ali.notification_signing_string(downgraded), form["sign"], keys.alipay.public_key()
    )


# --- passback_params ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        ali.OrderFacts("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "user-1", 1100, "standard"),
        ali.OrderFacts("o", "we&ird=user%20名", 0, None),
        ali.OrderFacts("o+1", "u 1", 10**17, "pkg/with?chars"),
    ],
)
def test_passback_round_trip(facts: ali.OrderFacts) -> None:
    encoded = ali.encode_passback(facts)
    # URL-encoded once more, as Alipay requires: no raw separators left.
    assert not set(encoded) & set("=& +/?")
    assert ali.decode_passback(encoded) == facts
    # A value a proxy or SDK already decoded once is read the same.
    from urllib.parse import unquote

    assert ali.decode_passback(unquote(encoded)) == facts


def test_passback_survives_the_form_encoding_of_a_notification() -> None:
    from urllib.parse import urlencode

    facts = ali.OrderFacts("order", "user&x=1", 5, "p")
    body = urlencode({"passback_params": ali.encode_passback(facts), "x": "1"})
    assert ali.decode_passback(dict(parse_qsl(body))["passback_params"]) == facts


@pytest.mark.parametrize(
    "value",
    [
        quote("user_id=u&credits=1", safe=""),  # no order_id
        quote("order_id=o&credits=1", safe=""),  # no user_id
        quote("order_id=o&user_id=u", safe=""),  # no credits
        quote("order_id=o&user_id=u&credits=-1", safe=""),
        quote("order_id=o&user_id=u&credits=1.5", safe=""),
        quote("order_id=o&user_id=u&credits=1&credits=2", safe=""),
        quote("order_id= &user_id=u&credits=1", safe=""),
        "garbage",
    ],
)
def test_passback_refusals(value: str) -> None:
    with pytest.raises(ValueError, match=r"passback_params|bad query"):
        ali.decode_passback(value)


def test_passback_longer_than_alipay_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="512"):
        ali.encode_passback(ali.OrderFacts("o", "u" * 600, 1))


# --- values ---------------------------------------------------------------------------------


def test_times_are_beijing_time() -> None:
    at = datetime(2024, 12, 31, 16, 30, 5, tzinfo=UTC)
    assert ali.format_time(at) == "2025-01-01 00:30:05"
    assert ali.parse_time("2025-01-01 00:30:05") == at
    assert ali.parse_time("2025-01-01 00:30:05.320") == at.replace(microsecond=320000)
    assert ali.parse_time("2025-01-01 00:30:05").tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        ali.format_time(datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="does not match"):
        ali.parse_time("2025/01/01 00:30:05")


def test_amounts() -> None:
    assert ali.parse_amount("100.00") == Money(10000, "CNY")
    assert ali.parse_amount("0.5") == Money(50, "CNY")
    assert ali.parse_amount("7") == Money(700, "CNY")
    for bad in ("-1.00", "1e3", "1.001", "", " ", "1,00", "NaN"):
        with pytest.raises(ValueError, match="not an Alipay amount"):
            ali.parse_amount(bad)
    assert ali.format_amount(Money(12345, "CNY")) == "123.45"
    with pytest.raises(ValueError, match="CNY"):
        ali.format_amount(Money(100, "USD"))


def test_out_trade_no_from_an_order_id() -> None:
    assert ali.out_trade_no_for("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0") == (
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    )
    assert ali.out_trade_no_for("ord_123") == "ord_123"
    for bad in ("", "a-b", "x" * 65, "订单"):
        with pytest.raises(ValueError, match="cannot be an Alipay out_trade_no"):
            ali.out_trade_no_for(bad)
