"""checkout's Alipay gateway client: the requests it signs and the responses it believes,
cross-checked against Alipay's Python SDK (`python-alipay-sdk`, import name `alipay`), which
signs with PyCryptodome: an independent implementation of the same scheme."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest

from paystream.checkout.providers import alipay_client as client
from paystream.devtools.fakes.alipay_sdk import (
    APP_ID,
    Keys,
    alipay_side_sdk,
    merchant_sdk,
    new_keys,
)
from paystream.devtools.fakes.signing import signed_response, verify_request
from paystream.shared.providers import alipay as ali


@pytest.fixture(scope="module")
def keys() -> Keys:
    return new_keys()


# --- requests -------------------------------------------------------------------------------


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
    assert client.sign_request(signed, keys.merchant)["sign"] == sdk_sign
    assert verify_request({**signed, "sign": sdk_sign}, keys.merchant.public_key())


def test_our_request_verifies_with_the_sdk_as_the_gateway(keys: Keys) -> None:
    params = client.build_request(
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
    params = client.build_request(
        ali.QUERY,
        {"out_trade_no": "x"},
        app_id=APP_ID,
        private_key=keys.merchant,
        now=datetime.now(UTC),
    )
    assert "notify_url" not in params
    assert "return_url" not in params
    with_empty = {**params, "return_url": ""}
    assert verify_request(with_empty, keys.merchant.public_key())


# --- responses ------------------------------------------------------------------------------


def test_the_sdk_verifies_responses_we_sign(keys: Keys) -> None:
    content = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": "x",
        "qr_code": "https://qr.alipay.com/bax1",
    }
    body = signed_response(ali.PRECREATE, content, keys.alipay)
    assert body.startswith('{"alipay_trade_precreate_response":{')
    assert (
        merchant_sdk(keys)._verify_and_return_sync_response(body, "alipay_trade_precreate_response")
        == content
    )
    assert client.verify_response(body, ali.PRECREATE, keys.alipay.public_key()) == content


def test_response_signature_covers_the_raw_text_not_a_reserialization(keys: Keys) -> None:
    # Alipay's own spacing and escapes, and braces inside strings (which fool a brace count).
    text = '{ "code" : "10000", "msg":"Success", "sub_msg":"a}b{\\"}", "subject":"\\u6807\\u51c6"}'
    sign = ali.rsa2_sign(text, keys.alipay)
    body = f'{{"alipay_trade_query_response" : {text} ,\n "sign":"{sign}"}}'
    content = client.verify_response(body, ali.QUERY, keys.alipay.public_key())
    assert content["sub_msg"] == 'a}b{"}'
    assert content["subject"] == "标准"
    # The same content re-serialized is a different string: it must not verify.
    again = json.dumps(json.loads(text))
    body2 = f'{{"alipay_trade_query_response":{again},"sign":"{sign}"}}'
    with pytest.raises(ali.AlipaySignatureError) as exc:
        client.verify_response(body2, ali.QUERY, keys.alipay.public_key())
    assert exc.value.reason == "signature_invalid"


def test_sign_member_before_the_response_member(keys: Keys) -> None:
    text = '{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS"}'
    sign = ali.rsa2_sign(text, keys.alipay)
    body = f'{{"sign":"{sign}","alipay_trade_query_response":{text}}}'
    assert client.verify_response(body, ali.QUERY, keys.alipay.public_key())["trade_status"] == (
        "TRADE_SUCCESS"
    )


def test_business_errors_are_typed(keys: Keys) -> None:
    content = {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "sub_msg": "退款金额超限",
    }
    body = signed_response(ali.REFUND, content, keys.alipay)
    with pytest.raises(client.AlipayApiError) as exc:
        client.verify_response(body, ali.REFUND, keys.alipay.public_key())
    assert (exc.value.code, exc.value.sub_code, exc.value.sub_msg, exc.value.signed) == (
        "40004",
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
        "退款金额超限",
        True,
    )


def test_unsigned_refusal_is_an_error_but_unsigned_success_is_not_trusted(keys: Keys) -> None:
    refusal = signed_response(
        ali.QUERY,
        {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"},
        None,
    )
    with pytest.raises(client.AlipayApiError) as exc:
        client.verify_response(refusal, ali.QUERY, keys.alipay.public_key())
    assert (exc.value.sub_code, exc.value.signed) == ("isv.invalid-signature", False)
    error_response = (
        '{"error_response":{"code":"40002","msg":"Invalid Arguments",'
        '"sub_code":"isv.invalid-app-id"}}'
    )
    with pytest.raises(client.AlipayApiError) as exc:
        client.verify_response(error_response, ali.QUERY, keys.alipay.public_key())
    assert exc.value.sub_code == "isv.invalid-app-id"
    unsigned_ok = signed_response(
        ali.QUERY, {"code": "10000", "trade_status": "TRADE_SUCCESS"}, None
    )
    with pytest.raises(ali.AlipaySignatureError) as sig:
        client.verify_response(unsigned_ok, ali.QUERY, keys.alipay.public_key())
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
        client.verify_response(body, ali.QUERY, keys.alipay.public_key())


def test_a_response_signed_by_another_key_is_refused(keys: Keys) -> None:
    body = signed_response(ali.QUERY, {"code": "10000"}, keys.other)
    with pytest.raises(ali.AlipaySignatureError):
        client.verify_response(body, ali.QUERY, keys.alipay.public_key())
