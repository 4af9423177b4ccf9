"""Alipay's wire format and RSA2 signatures, cross-checked against Alipay's Python SDK
(`python-alipay-sdk`, import name `alipay`), which signs with PyCryptodome: an independent
implementation of the same scheme."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

import pytest
from alipay import AliPay
from cryptography.hazmat.primitives.asymmetric import rsa

from paystream.shared.money import Money
from paystream.shared.providers import alipay as ali

APP_ID = "2021000000000001"


@dataclass(frozen=True)
class Keys:
    merchant: rsa.RSAPrivateKey  # the application's key: signs requests
    alipay: rsa.RSAPrivateKey  # Alipay's key: signs responses and notifications
    other: rsa.RSAPrivateKey  # an attacker's

    def pem(self, key: rsa.RSAPrivateKey) -> str:
        return ali.private_key_pem(key)

    def pub(self, key: rsa.RSAPrivateKey) -> str:
        return ali.public_key_pem(key)


@pytest.fixture(scope="module")
def keys() -> Keys:
    def gen() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(gen(), gen(), gen())


def merchant_sdk(keys: Keys) -> AliPay:
    """The SDK as a merchant uses it: its key signs, Alipay's public key verifies."""
    return AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=keys.pem(keys.merchant),
        alipay_public_key_string=keys.pub(keys.alipay),
        sign_type="RSA2",
    )


def alipay_side_sdk(keys: Keys) -> AliPay:
    """The SDK turned around to play Alipay: Alipay's key signs, the merchant's verifies."""
    return AliPay(
        appid=APP_ID,
        app_notify_url=None,
        app_private_key_string=keys.pem(keys.alipay),
        alipay_public_key_string=keys.pub(keys.merchant),
        sign_type="RSA2",
    )


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


def test_keys_load_from_pem_bare_base64_and_file(keys: Keys, tmp_path: object) -> None:
    pem = keys.pem(keys.merchant)
    bare = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    assert ali.load_private_key(bare).private_numbers() == keys.merchant.private_numbers()
    pub_bare = "".join(
        line for line in keys.pub(keys.merchant).splitlines() if not line.startswith("-----")
    )
    assert (
        ali.load_public_key(pub_bare).public_numbers()
        == keys.merchant.public_key().public_numbers()
    )
    from pathlib import Path

    path = Path(str(tmp_path)) / "key.pem"
    path.write_text(pem)
    assert ali.load_private_key(f"@{path}").private_numbers() == keys.merchant.private_numbers()


def test_request_signature_equals_the_sdks(keys: Keys) -> None:
    sdk = merchant_sdk(keys)
    data = sdk.build_body(
        "alipay.trade.precreate",
        {"out_trade_no": "abc123", "total_amount": "88.88", "subject": "credits"},
        notify_url="https://example.com/webhooks/alipay",
    )
    signed = dict(parse_qsl(sdk.sign_data(dict(data)), keep_blank_values=True))
    sdk_sign = signed.pop("sign")
    # PKCS#1 v1.5 is deterministic: the same string and key give the same bytes.
    assert ali.sign_request(signed, keys.merchant)["sign"] == sdk_sign
    assert ali.verify_request({**signed, "sign": sdk_sign}, keys.merchant.public_key())


def test_our_request_verifies_with_the_sdk_as_the_gateway(keys: Keys) -> None:
    params = ali.build_request(
        ali.REFUND,
        {
            "out_trade_no": "abc",
            "refund_amount": "1.00",
            "out_request_no": "r1",
            "refund_reason": "退款",
        },
        app_id=APP_ID,
        private_key=keys.merchant,
        now=datetime(2024, 5, 1, 4, 0, tzinfo=UTC),
    )
    assert params["timestamp"] == "2024-05-01 12:00:00"  # Beijing time
    assert params["sign_type"] == "RSA2"
    assert params["format"] == "JSON"
    assert json.loads(params["biz_content"])["refund_reason"] == "退款"
    sign = params.pop("sign")
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    assert alipay_side_sdk(keys)._verify(message, sign)
    assert not alipay_side_sdk(keys)._verify(message.replace("1.00", "9.00"), sign)


def test_empty_optional_parameters_are_not_signed(keys: Keys) -> None:
    params = ali.build_request(
        ali.QUERY,
        {"out_trade_no": "x"},
        app_id=APP_ID,
        private_key=keys.merchant,
        now=datetime.now(UTC),
    )
    assert "notify_url" not in params
    assert "return_url" not in params
    with_empty = {**params, "return_url": ""}
    assert ali.verify_request(with_empty, keys.merchant.public_key())


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
    form = ali.sign_notification(_notification(), keys.alipay)
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
    form = ali.sign_notification(_notification(), keys.alipay)
    change(form)  # type: ignore[operator]
    with pytest.raises(ali.AlipaySignatureError) as exc:
        ali.verify_notification(form, public_key=keys.alipay.public_key(), app_id=APP_ID)
    assert exc.value.reason == reason


def test_notification_signed_by_another_key_or_for_another_app_is_refused(keys: Keys) -> None:
    forged = ali.sign_notification(_notification(), keys.other)
    with pytest.raises(ali.AlipaySignatureError) as exc:
        ali.verify_notification(forged, public_key=keys.alipay.public_key(), app_id=APP_ID)
    assert exc.value.reason == "signature_invalid"
    other_app = ali.sign_notification({**_notification(), "app_id": "2021999"}, keys.alipay)
    with pytest.raises(ali.AlipaySignatureError) as exc:
        ali.verify_notification(other_app, public_key=keys.alipay.public_key(), app_id=APP_ID)
    assert exc.value.reason == "app_id_mismatch"


def test_sign_type_is_outside_the_signed_string(keys: Keys) -> None:
    # Which is why it must be checked explicitly: the signature alone survives a change of it.
    form = ali.sign_notification(_notification(), keys.alipay)
    downgraded = {**form, "sign_type": "RSA"}
    assert ali.rsa2_verify(
        ali.notification_signing_string(downgraded), form["sign"], keys.alipay.public_key()
    )


# --- responses ------------------------------------------------------------------------------


def test_the_sdk_verifies_responses_we_sign(keys: Keys) -> None:
    content = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": "x",
        "qr_code": "https://qr.alipay.com/bax1",
    }
    body = ali.signed_response(ali.PRECREATE, content, keys.alipay)
    assert body.startswith('{"alipay_trade_precreate_response":{')
    assert (
        merchant_sdk(keys)._verify_and_return_sync_response(body, "alipay_trade_precreate_response")
        == content
    )
    assert ali.verify_response(body, ali.PRECREATE, keys.alipay.public_key()) == content


def test_response_signature_covers_the_raw_text_not_a_reserialization(keys: Keys) -> None:
    # Alipay's own spacing and escapes, and braces inside strings (which fool a brace count).
    text = '{ "code" : "10000", "msg":"Success", "sub_msg":"a}b{\\"}", "subject":"\\u6807\\u51c6"}'
    sign = ali.rsa2_sign(text, keys.alipay)
    body = f'{{"alipay_trade_query_response" : {text} ,\n "sign":"{sign}"}}'
    content = ali.verify_response(body, ali.QUERY, keys.alipay.public_key())
    assert content["sub_msg"] == 'a}b{"}'
    assert content["subject"] == "标准"
    # The same content re-serialized is a different string: it must not verify.
    again = json.dumps(json.loads(text))
    body2 = f'{{"alipay_trade_query_response":{again},"sign":"{sign}"}}'
    with pytest.raises(ali.AlipaySignatureError) as exc:
        ali.verify_response(body2, ali.QUERY, keys.alipay.public_key())
    assert exc.value.reason == "signature_invalid"


def test_sign_member_before_the_response_member(keys: Keys) -> None:
    text = '{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS"}'
    sign = ali.rsa2_sign(text, keys.alipay)
    body = f'{{"sign":"{sign}","alipay_trade_query_response":{text}}}'
    assert ali.verify_response(body, ali.QUERY, keys.alipay.public_key())["trade_status"] == (
        "TRADE_SUCCESS"
    )


def test_business_errors_are_typed(keys: Keys) -> None:
    content = {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "sub_msg": "退款金额超限",
    }
    body = ali.signed_response(ali.REFUND, content, keys.alipay)
    with pytest.raises(ali.AlipayApiError) as exc:
        ali.verify_response(body, ali.REFUND, keys.alipay.public_key())
    assert (exc.value.code, exc.value.sub_code, exc.value.sub_msg, exc.value.signed) == (
        "40004",
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "退款金额超限",
        True,
    )


def test_unsigned_refusal_is_an_error_but_unsigned_success_is_not_trusted(keys: Keys) -> None:
    refusal = ali.signed_response(
        ali.QUERY,
        {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"},
        None,
    )
    with pytest.raises(ali.AlipayApiError) as exc:
        ali.verify_response(refusal, ali.QUERY, keys.alipay.public_key())
    assert (exc.value.sub_code, exc.value.signed) == ("isv.invalid-signature", False)
    error_response = (
        '{"error_response":{"code":"40002","msg":"Invalid Arguments",'
        '"sub_code":"isv.invalid-app-id"}}'
    )
    with pytest.raises(ali.AlipayApiError) as exc:
        ali.verify_response(error_response, ali.QUERY, keys.alipay.public_key())
    assert exc.value.sub_code == "isv.invalid-app-id"
    unsigned_ok = ali.signed_response(
        ali.QUERY, {"code": "10000", "trade_status": "TRADE_SUCCESS"}, None
    )
    with pytest.raises(ali.AlipaySignatureError) as sig:
        ali.verify_response(unsigned_ok, ali.QUERY, keys.alipay.public_key())
    assert sig.value.reason == "signature_missing"


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[]",
        '{"alipay_trade_query_response":{"code":"10000"},"sign":"x"} trailing',
        '{"other_response":{"code":"10000"},"sign":"x"}',
        '{"alipay_trade_query_response":{"code":"10000"},"alipay_trade_query_response":{},"sign":"x"}',
        '{"alipay_trade_query_response":"text","sign":"x"}',
        '{"alipay_trade_query_response":{"code":"10000"},"sign":7}',
    ],
)
def test_unreadable_responses_are_refused(keys: Keys, body: str) -> None:
    with pytest.raises(ali.AlipaySignatureError):
        ali.verify_response(body, ali.QUERY, keys.alipay.public_key())


def test_a_response_signed_by_another_key_is_refused(keys: Keys) -> None:
    body = ali.signed_response(ali.QUERY, {"code": "10000"}, keys.other)
    with pytest.raises(ali.AlipaySignatureError):
        ali.verify_response(body, ali.QUERY, keys.alipay.public_key())


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
