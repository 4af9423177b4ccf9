"""The providers' side of each signature scheme, for the fakes, the demo, the benchmark and the
tests that play a provider.

paystream itself never signs as Stripe, Alipay or WeChat Pay, nor checks a merchant's request as
their gateways do: these live here, next to the fakes, and use the wire formats of
`paystream.shared.providers`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from paystream.shared.providers.alipay import (
    SIGN_TYPE,
    notification_signing_string,
    request_signing_string,
    response_key,
    rsa2_sign,
    rsa2_verify,
)
from paystream.shared.providers.wechatpay import (
    AES_ALGORITHM,
    H_NONCE,
    H_SERIAL,
    H_SIGNATURE,
    H_SIGNATURE_TYPE,
    H_TIMESTAMP,
    SIGNATURE_TYPE,
    TIMESTAMP_TOLERANCE_S,
    Authorization,
    EncryptedResource,
    SignatureInvalid,
    apiv3_cipher,
    check_timestamp,
    new_nonce,
    parse_authorization,
    request_message,
    response_message,
    rsa_sign,
    rsa_verify,
)

# --- Stripe ---------------------------------------------------------------------------------
# Stripe signs `"<t>.<raw body>"` with HMAC-SHA256 keyed by the whole endpoint secret (the
# `whsec_...` string as UTF-8 bytes) and sends `Stripe-Signature: t=<unix seconds>,v1=<hex>`.


def stripe_v1_signature(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), b"%d." % timestamp, hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def sign_stripe_payload(body: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe would send for `body` signed at `timestamp`."""
    return f"t={timestamp},v1={stripe_v1_signature(body, secret, timestamp)}"


# --- Alipay ---------------------------------------------------------------------------------


def verify_request(params: Mapping[str, str], key: rsa.RSAPublicKey) -> bool:
    """What the gateway checks: the merchant's RSA2 signature over a request's parameters."""
    sign = params.get("sign")
    return bool(sign) and rsa2_verify(request_signing_string(params), sign or "", key)


def sign_notification(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> dict[str, str]:
    """`params` with `sign_type=RSA2` (unless given) and their `sign`: what Alipay posts."""
    out = {k: v for k, v in params.items() if k != "sign"}
    out.setdefault("sign_type", SIGN_TYPE)
    out["sign"] = rsa2_sign(notification_signing_string(out), key)
    return out


def signed_response(method: str, content: Mapping[str, Any], key: rsa.RSAPrivateKey | None) -> str:
    """A gateway response body as Alipay writes it (the fake's side): the member text, then its
    signature over exactly that text; `key=None` leaves it unsigned."""
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    body = f'{{"{response_key(method)}":{text}'
    if key is not None:
        body += f',"sign":"{rsa2_sign(text, key)}"'
    return body + "}"


# --- WeChat Pay -----------------------------------------------------------------------------


def verify_authorization(
    header: str | None,
    *,
    method: str,
    canonical_url: str,
    body: bytes,
    public_key: RSAPublicKey,
    mchid: str,
    now: float,
    tolerance_s: int = TIMESTAMP_TOLERANCE_S,
) -> Authorization:
    """What WeChat Pay does with a merchant request ."""
    auth = parse_authorization(header)
    if auth.mchid != mchid:
        raise SignatureInvalid("mchid does not match")
    message = request_message(method, canonical_url, auth.timestamp, auth.nonce_str, body)
    if not rsa_verify(public_key, message, auth.signature):
        raise SignatureInvalid("the request signature does not verify")
    check_timestamp(auth.timestamp, now, tolerance_s)
    return auth


def sign_response(
    body: bytes,
    *,
    private_key: RSAPrivateKey,
    serial: str,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The Wechatpay-* headers WeChat Pay puts on a response or notification with `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or new_nonce()
    return {
        H_TIMESTAMP: ts,
        H_NONCE: nonce,
        H_SIGNATURE: rsa_sign(private_key, response_message(ts, nonce, body)),
        H_SERIAL: serial,
        H_SIGNATURE_TYPE: SIGNATURE_TYPE,
    }


def aes_gcm_encrypt(
    apiv3_key: str | bytes, nonce: str, associated_data: str, plaintext: bytes
) -> str:
    """base64(ciphertext || tag), as WeChat Pay sends it."""
    sealed = apiv3_cipher(apiv3_key).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode()


def encrypt_resource(
    apiv3_key: str | bytes,
    plaintext: bytes,
    *,
    original_type: str,
    associated_data: str,
    nonce: str | None = None,
) -> EncryptedResource:
    nonce = nonce or secrets.token_urlsafe(9)[:12]
    return EncryptedResource(
        AES_ALGORITHM,
        aes_gcm_encrypt(apiv3_key, nonce, associated_data, plaintext),
        nonce,
        associated_data,
        original_type,
    )
