"""WeChat Pay API v3 wire format, cross-checked against WeChat Pay's own Python SDK (wechatpayv3):
it and we must produce the same signatures, accept each other's, and decrypt each other's
resources; plus our encodings of the order facts and references."""

from __future__ import annotations

import base64
import re
import time
import uuid

import orjson
import pytest
from wechatpayv3 import utils as sdk
from wechatpayv3.core import Core

from paystream.devtools.fakes.signing import aes_gcm_encrypt, sign_response, verify_authorization
from paystream.devtools.fakes.wechatpay import (
    WeChatPayKeys,
    build_notification_body,
    generate_keys,
    sign_notification,
    transaction_resource,
)
from paystream.shared.providers.keys import load_private_key, load_public_key
from paystream.shared.providers.wechatpay import (
    AttachTooLong,
    DecryptionFailed,
    InvalidAttach,
    InvalidReference,
    MalformedNotification,
    OrderFacts,
    PlatformVerifier,
    SignatureInvalid,
    SignatureMissing,
    TimestampOutsideTolerance,
    UnknownSerial,
    aes_gcm_decrypt,
    check_refundable_user,
    decode_attach,
    decode_out_refund_no,
    decrypt_resource,
    encode_attach,
    encode_out_refund_no,
    order_id_from_out_trade_no,
    out_trade_no_for,
    parse_authorization,
    parse_notification,
    request_message,
    rsa_sign,
)

APIV3 = "0123456789abcdef0123456789ABCDEF"
NOW = 1_760_000_000


@pytest.fixture(scope="session")
def keys() -> WeChatPayKeys:
    return generate_keys()


@pytest.fixture(scope="session")
def other_keys() -> WeChatPayKeys:
    return generate_keys()


def _verifier(keys: WeChatPayKeys) -> PlatformVerifier:
    return PlatformVerifier({keys.platform_public_key_id: keys.platform_public_key})


# --- request signing: Authorization -------------------------------------------------------


def test_request_message_signature_equals_the_sdks_rsa_sign(keys: WeChatPayKeys) -> None:
    # Non-ASCII bodies too: both sign the UTF-8 bytes.
    body = '{"description":"积分充值 100"}'
    message = request_message("GET", "/v3/pay/transactions/out-trade-no/abc?mchid=1", 1, "N", b"")
    assert message == b"GET\n/v3/pay/transactions/out-trade-no/abc?mchid=1\n1\nN\n\n"
    key = load_private_key(keys.merchant_private_key)
    for msg in (message, request_message("POST", "/x", 2, "M", body.encode())):
        assert rsa_sign(key, msg) == sdk.rsa_sign(key, msg.decode())


def test_we_verify_the_sdks_authorization_and_refuse_what_does_not_match(
    keys: WeChatPayKeys, other_keys: WeChatPayKeys
) -> None:
    body = b'{"mchid":"1900000109"}'
    path = "/v3/pay/transactions/out-trade-no/x/close"
    header = sdk.build_authorization(
        path,
        "POST",
        keys.mchid,
        keys.merchant_serial_no,
        sdk.load_private_key(keys.merchant_private_key),
        data=body.decode(),
    )
    public = load_public_key(keys.merchant_public_key)
    common = {"method": "POST", "canonical_url": path, "mchid": keys.mchid, "now": time.time()}
    auth = verify_authorization(header, body=body, public_key=public, **common)  # type: ignore[arg-type]
    assert auth.serial_no == keys.merchant_serial_no
    with pytest.raises(SignatureInvalid):
        verify_authorization(header, body=body + b" ", public_key=public, **common)  # type: ignore[arg-type]
    with pytest.raises(SignatureInvalid):
        verify_authorization(
            header,
            body=body,
            public_key=load_public_key(other_keys.merchant_public_key),
            **common,  # type: ignore[arg-type]
        )
    with pytest.raises(SignatureInvalid):
        verify_authorization(
            header,
            body=body,
            public_key=public,
            **{**common, "mchid": "1900000999"},  # type: ignore[arg-type]
        )
    with pytest.raises(TimestampOutsideTolerance):
        verify_authorization(
            header,
            body=body,
            public_key=public,
            **{**common, "now": time.time() + 301},  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, SignatureMissing),
        ("", SignatureMissing),
        ('WECHATPAY2-SHA256-RSA2048 mchid="1"', SignatureInvalid),
        (
            'OTHER mchid="1",nonce_str="n",signature="s",timestamp="1",serial_no="x"',
            SignatureInvalid,
        ),
        ("WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str=n", SignatureInvalid),
    ],
)
def test_parse_authorization_refuses_malformed_headers(
    header: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        parse_authorization(header)


# --- responses and notifications: Wechatpay-* ---------------------------------------------


def test_we_verify_what_the_sdk_signs(keys: WeChatPayKeys) -> None:
    body = b'{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}'
    nonce, ts = "K2pZ4sW8", str(int(time.time()))
    signature = sdk.rsa_sign(
        load_private_key(keys.platform_private_key), f"{ts}\n{nonce}\n{body.decode()}\n"
    )
    headers = {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": keys.platform_public_key_id,
    }
    signed = _verifier(keys).verify(headers, body, now=time.time())
    assert signed.serial == keys.platform_public_key_id
    # Header names are case-insensitive (ASGI and HTTP/2 send them lowercase).
    _verifier(keys).verify({k.lower(): v for k, v in headers.items()}, body, now=time.time())


def test_the_sdk_verifies_what_we_sign(keys: WeChatPayKeys) -> None:
    body = b'{"refund_id":"50000000382019052709732678859","status":"SUCCESS"}'
    headers = sign_response(
        body, private_key=load_private_key(keys.platform_private_key), serial="PUB_KEY_ID_1"
    )
    assert sdk.rsa_verify(
        headers["Wechatpay-Timestamp"],
        headers["Wechatpay-Nonce"],
        body.decode(),
        headers["Wechatpay-Signature"],
        load_public_key(keys.platform_public_key),
    )
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"


def test_the_sdk_verifies_and_decrypts_our_notification(keys: WeChatPayKeys) -> None:
    resource = transaction_resource(
        mchid=keys.mchid,
        appid=keys.appid,
        out_trade_no=uuid.uuid4().hex,
        transaction_id="4200000000202401010000000001",
        total_fen=12345,
        attach="ps1|x|y|1|",
    )
    body = build_notification_body(
        event_type="TRANSACTION.SUCCESS",
        resource=resource,
        original_type="transaction",
        apiv3_key=keys.apiv3_key,
    )
    signed = sign_notification(
        body,
        platform_private_key=keys.platform_private_key,
        platform_public_key_id=keys.platform_public_key_id,
    )
    core = Core(
        keys.mchid,
        keys.merchant_serial_no,
        keys.merchant_private_key,
        keys.apiv3_key,
        public_key=keys.platform_public_key,
        public_key_id=keys.platform_public_key_id,
    )
    result = core.callback(signed.headers, signed.body)
    assert result is not None
    assert result["event_type"] == "TRANSACTION.SUCCESS"
    assert result["resource"] == resource
    # The SDK refuses what we would refuse: a body changed after signing.
    assert (
        core.callback(signed.headers, signed.body.replace(b"TRANSACTION", b"TRANSACTIOM")) is None
    )


def _signed_headers(keys: WeChatPayKeys, body: bytes, **kw: object) -> dict[str, str]:
    return sign_response(
        body,
        private_key=load_private_key(keys.platform_private_key),
        serial=str(kw.get("serial", keys.platform_public_key_id)),
        timestamp=kw.get("timestamp"),  # type: ignore[arg-type]
    )


def test_verifier_refuses_unknown_serial_forged_key_tampering_and_stale_timestamps(
    keys: WeChatPayKeys, other_keys: WeChatPayKeys
) -> None:
    body = b'{"id":"n1"}'
    v = _verifier(keys)
    v.verify(_signed_headers(keys, body, timestamp=NOW), body, now=NOW)
    with pytest.raises(UnknownSerial):
        v.verify(_signed_headers(keys, body, serial="PUB_KEY_ID_OTHER"), body, now=time.time())
    with pytest.raises(SignatureInvalid):
        v.verify(
            _signed_headers(other_keys, body, serial=keys.platform_public_key_id),
            body,
            now=time.time(),
        )
    with pytest.raises(SignatureInvalid):
        v.verify(_signed_headers(keys, body), b'{"id":"n2"}', now=time.time())
    # Five minutes either way is the window; one second more is refused, past and future.
    for skew in (300, -300):
        v.verify(_signed_headers(keys, body, timestamp=NOW), body, now=NOW + skew)
    for skew in (301, -301):
        with pytest.raises(TimestampOutsideTolerance):
            v.verify(_signed_headers(keys, body, timestamp=NOW), body, now=NOW + skew)


def test_verifier_refuses_missing_and_malformed_headers(keys: WeChatPayKeys) -> None:
    body = b"{}"
    good = _signed_headers(keys, body)
    v = _verifier(keys)
    for name in (
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Signature",
        "Wechatpay-Serial",
    ):
        with pytest.raises(SignatureMissing):
            v.verify({k: val for k, val in good.items() if k != name}, body, now=time.time())
    with pytest.raises(SignatureInvalid):
        v.verify(
            {**good, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, body, now=time.time()
        )
    with pytest.raises(SignatureInvalid):
        v.verify({**good, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc"}, body, now=time.time())
    with pytest.raises(SignatureInvalid):
        v.verify({**good, "Wechatpay-Signature": "not base64!"}, body, now=time.time())
    # A timestamp that is not unix seconds is refused even when it is what was signed.
    ts = "+1760000000"
    h = {**good, "Wechatpay-Timestamp": ts, "Wechatpay-Nonce": "n"}
    h["Wechatpay-Signature"] = rsa_sign(
        load_private_key(keys.platform_private_key), f"{ts}\nn\n{{}}\n".encode()
    )
    with pytest.raises(SignatureInvalid, match="not unix seconds"):
        v.verify(h, body, now=1_760_000_000)


# --- AES-256-GCM ----------------------------------------------------------------------------


def test_the_sdk_decrypts_what_we_encrypt_and_we_decrypt_it_back() -> None:
    plaintext = '{"out_trade_no":"abc","amount":{"total":100},"note":"中文"}'.encode()
    ciphertext = aes_gcm_encrypt(APIV3, "0123456789ab", "transaction", plaintext)
    assert sdk.aes_decrypt("0123456789ab", ciphertext, "transaction", APIV3) == plaintext.decode()
    assert aes_gcm_decrypt(APIV3, "0123456789ab", "transaction", ciphertext) == plaintext
    # The tag is appended: ciphertext is exactly 16 bytes longer than the plaintext.
    assert len(base64.b64decode(ciphertext)) == len(plaintext) + 16


def test_tampered_or_wrongly_keyed_resources_do_not_decrypt() -> None:
    ct = aes_gcm_encrypt(APIV3, "0123456789ab", "transaction", b'{"a":1}')
    raw = bytearray(base64.b64decode(ct))
    raw[0] ^= 1
    tampered = base64.b64encode(bytes(raw)).decode()
    cases = [
        (APIV3, "0123456789ab", "transaction", tampered),
        ("x" * 32, "0123456789ab", "transaction", ct),
        (APIV3, "0123456789ab", "refund", ct),
        (APIV3, "0123456789ac", "transaction", ct),
        (APIV3, "0123456789ab", "transaction", "%%% not base64"),
        (APIV3, "0123456789ab", "transaction", ct[:8]),
    ]
    for key, nonce, ad, data in cases:
        with pytest.raises(DecryptionFailed):
            aes_gcm_decrypt(key, nonce, ad, data)
        if data != "%%% not base64":
            assert sdk.aes_decrypt(nonce, data, ad, key) is None
    with pytest.raises(ValueError, match="32 bytes"):
        aes_gcm_decrypt("short", "0123456789ab", "transaction", ct)


def test_parse_notification_and_decrypt_resource() -> None:
    body = build_notification_body(
        event_type="REFUND.SUCCESS",
        resource={"out_refund_no": "r1"},
        original_type="refund",
        apiv3_key=APIV3,
        notification_id="EV-1",
    )
    n = parse_notification(body)
    assert (n.id, n.event_type, n.resource.associated_data) == ("EV-1", "REFUND.SUCCESS", "refund")
    assert orjson.loads(decrypt_resource(n.resource, APIV3)) == {"out_refund_no": "r1"}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: "not json",
        lambda d: [d],
        lambda d: {**d, "id": ""},
        lambda d: {k: v for k, v in d.items() if k != "event_type"},
        lambda d: {**d, "resource_type": "plain"},
        lambda d: {**d, "resource": "x"},
        lambda d: {**d, "resource": {**d["resource"], "algorithm": "AES_128"}},
        lambda d: {**d, "resource": {**d["resource"], "ciphertext": None}},
        lambda d: {**d, "resource": {**d["resource"], "nonce": ""}},
        lambda d: {**d, "resource": {**d["resource"], "associated_data": 5}},
    ],
)
def test_parse_notification_refuses_malformed_envelopes(mutate: object) -> None:
    doc = orjson.loads(
        build_notification_body(
            event_type="TRANSACTION.SUCCESS",
            resource={},
            original_type="transaction",
            apiv3_key=APIV3,
        )
    )
    changed = mutate(doc)  # type: ignore[operator]
    body = changed.encode() if isinstance(changed, str) else orjson.dumps(changed)
    with pytest.raises(MalformedNotification):
        parse_notification(body)


# --- our references -------------------------------------------------------------------------


def test_out_trade_no_is_the_order_uuid_in_32_hex_digits() -> None:
    order_id = str(uuid.uuid4())
    otn = out_trade_no_for(order_id)
    assert re.fullmatch(r"[0-9a-f]{32}", otn)
    assert order_id_from_out_trade_no(otn) == order_id
    assert out_trade_no_for("ord_123456") == "ord_123456"
    with pytest.raises(InvalidReference):
        out_trade_no_for("has spaces in it")


@pytest.mark.parametrize(
    "facts",
    [
        OrderFacts(str(uuid.uuid4()), str(uuid.uuid4()), 1100, "standard"),
        OrderFacts(str(uuid.uuid4()), "auth0|5f7c8ec7c33c6c004bbafe82", 0, None),
        OrderFacts("ord|with!pipes%", "用户 7", 10**17, "pkg|x!"),
        OrderFacts(str(uuid.uuid4()).upper(), "alice@example.com", 5, "p"),
    ],
)
def test_attach_round_trips(facts: OrderFacts) -> None:
    attach = encode_attach(facts)
    assert len(attach) <= 128
    assert attach.count("|") == 4
    assert decode_attach(attach) == facts


def test_attach_is_compact_for_uuids_and_refuses_what_does_not_fit() -> None:
    facts = OrderFacts(str(uuid.uuid4()), str(uuid.uuid4()), 1100, "standard")
    assert len(encode_attach(facts)) == 3 + 1 + 33 + 1 + 33 + 1 + 4 + 1 + 8
    with pytest.raises(AttachTooLong):
        encode_attach(OrderFacts(str(uuid.uuid4()), str(uuid.uuid4()), 1, "p" * 60))
    with pytest.raises(InvalidAttach):
        encode_attach(OrderFacts("", "u", 1, None))


@pytest.mark.parametrize(
    "attach",
    [
        "",
        "ps1",
        "ps2|a|b|1|",
        "ps1|a|b|x|",
        "ps1|a|b|-1|",
        "ps1|!zz|b|1|",
        "ps1||b|1|",
        "ps1|a|%ff|1|",
    ],
)
def test_decode_attach_refuses_what_is_not_ours(attach: str) -> None:
    with pytest.raises(InvalidAttach):
        decode_attach(attach)


@pytest.mark.parametrize(
    "user_id",
    [
        str(uuid.uuid4()),
        "user_42",
        "auth0|5f7c8ec7c33c6c004bbafe82",
        "alice@example.com",
        "用户七",
        "a" * 30,
    ],
)
def test_out_refund_no_carries_the_refund_and_the_user(user_id: str) -> None:
    refund_id = str(uuid.uuid4())
    orn = encode_out_refund_no(refund_id, user_id)
    # WeChat Pay's out_refund_no: at most 64 of [0-9A-Za-z_-|*@].
    assert re.fullmatch(r"[0-9A-Za-z_\-|*@]{1,64}", orn), orn
    assert decode_out_refund_no(orn) == (refund_id, user_id)
    check_refundable_user(user_id)


def test_out_refund_no_refuses_users_that_cannot_fit_and_foreign_numbers() -> None:
    with pytest.raises(InvalidReference):
        check_refundable_user("a-very-long.email.address@example-company.com")
    with pytest.raises(InvalidReference):
        encode_out_refund_no("not-a-uuid", "u")
    for foreign in ("1217752501201407033233368018", "abc*Rx", uuid.uuid4().hex + "*Xabc", ""):
        with pytest.raises(InvalidReference):
            decode_out_refund_no(foreign)
