"""checkout's WeChat Pay client signs requests exactly as WeChat Pay's own Python SDK
(wechatpayv3) does for the same inputs."""

from __future__ import annotations

import pytest
from wechatpayv3 import utils as sdk

from paystream.checkout.providers.wechatpay_client import build_authorization
from paystream.devtools.fakes.wechatpay import WeChatPayKeys, generate_keys
from paystream.shared.providers.keys import load_private_key
from paystream.shared.providers.wechatpay import parse_authorization


@pytest.fixture(scope="session")
def keys() -> WeChatPayKeys:
    return generate_keys()


def test_our_authorization_is_the_sdks_for_the_same_inputs(keys: WeChatPayKeys) -> None:
    body = '{"mchid":"1900000109","description":"100 credits","amount":{"total":100}}'
    path = "/v3/pay/transactions/native"
    sdk_header = sdk.build_authorization(
        path,
        "POST",
        keys.mchid,
        keys.merchant_serial_no,
        sdk.load_private_key(keys.merchant_private_key),
        data=body,
        nonce_str="NONCE0123456789ABCDEF",
    )
    timestamp = int(parse_authorization(sdk_header).timestamp)
    ours = build_authorization(
        mchid=keys.mchid,
        serial_no=keys.merchant_serial_no,
        private_key=load_private_key(keys.merchant_private_key),
        method="POST",
        canonical_url=path,
        body=body.encode(),
        timestamp=timestamp,
        nonce="NONCE0123456789ABCDEF",
    )
    assert ours == sdk_header
