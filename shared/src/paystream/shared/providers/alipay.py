"""Alipay open platform: the wire format and RSA2 signatures, and our passback encoding.

What both sides of the wire need: checkout's gateway client
(`paystream.checkout.providers.alipay_client`), the notification library
(`paystream.notifications.providers.alipay`) and the local fake gateway, which plays Alipay with
the same code from the other side (its signers are in `paystream.devtools.fakes.signing`).

The scheme, as Alipay documents it (opendocs.alipay.com, "自行实现签名" / "自行实现验签"):

- RSA2 is SHA256withRSA, PKCS#1 v1.5 padding, the signature base64 encoded (no line breaks).
  The merchant signs requests with its application private key; Alipay signs responses and
  notifications with its own private key, which the merchant verifies with "Alipay's public key".
- A request's string to sign is every parameter except `sign`, with an empty value left out,
  sorted by key (byte order), as `k=v` joined by `&`, values NOT URL-encoded.
- A gateway response is `{"<method with dots as underscores>_response": {...}, "sign": "..."}`:
  the signature covers the exact raw JSON text of the `..._response` value as it was sent.
- An asynchronous notification is form-encoded; its string to sign is like a request's, but
  without `sign` AND `sign_type`. We accept RSA2 only (the legacy RSA is SHA1).

Amounts on the wire are yuan strings with two decimals ("100.00"); times are
"YYYY-MM-DD HH:MM:SS" in Beijing time (Asia/Shanghai, UTC+8, no daylight saving: a fixed offset
is exact and needs no tz database).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from paystream.shared.money import Money

SIGN_TYPE: Final = "RSA2"
CHARSET: Final = "utf-8"
VERSION: Final = "1.0"
SUCCESS_CODE: Final = "10000"
CURRENCY: Final = "CNY"  # Alipay's domestic acquiring settles in yuan only
# Beijing time; China has had no daylight saving since 1991.
CHINA_TZ: Final = timezone(timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"

PRECREATE: Final = "alipay.trade.precreate"
PAGE_PAY: Final = "alipay.trade.page.pay"
REFUND: Final = "alipay.trade.refund"
REFUND_QUERY: Final = "alipay.trade.fastpay.refund.query"
CLOSE: Final = "alipay.trade.close"
QUERY: Final = "alipay.trade.query"

# Trade statuses (alipay.trade.query and the notifications).
WAIT_BUYER_PAY: Final = "WAIT_BUYER_PAY"
TRADE_SUCCESS: Final = "TRADE_SUCCESS"
TRADE_FINISHED: Final = "TRADE_FINISHED"
TRADE_CLOSED: Final = "TRADE_CLOSED"

# Business error sub_codes the client reads.
TRADE_NOT_EXIST: Final = "ACQ.TRADE_NOT_EXIST"
TRADE_STATUS_ERROR: Final = "ACQ.TRADE_STATUS_ERROR"
REFUND_AMT_NOT_EQUAL_TOTAL: Final = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
INVALID_SIGNATURE: Final = "isv.invalid-signature"

# out_trade_no: at most 64 characters, letters, digits and underscores only.
OUT_TRADE_NO: Final = re.compile(r"[A-Za-z0-9_]{1,64}")
PASSBACK_MAX: Final = 512  # passback_params is at most 512 characters, after URL encoding


# --- errors ---------------------------------------------------------------------------------


class AlipayError(Exception):
    """Base of everything this module raises about Alipay."""


class AlipaySignatureError(AlipayError):
    """A signature is missing, malformed, of the wrong type, or does not verify.

    `reason` is a stable code: `signature_missing`, `signature_invalid`,
    `sign_type_unsupported`, `app_id_mismatch`, `malformed`.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- RSA2 -----------------------------------------------------------------------------------


def rsa2_sign(message: str, key: rsa.RSAPrivateKey) -> str:
    signature = key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(message: str, signature: str, key: rsa.RSAPublicKey) -> bool:
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    try:
        key.verify(raw, message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def signing_string(params: Mapping[str, str], exclude: frozenset[str]) -> str:
    """Sorted `k=v` joined by `&`, without the excluded keys and without empty values (as
    Alipay's own SDKs build it; Alipay never sends an empty parameter)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in exclude and params[k])


REQUEST_UNSIGNED: Final = frozenset({"sign"})
NOTIFICATION_UNSIGNED: Final = frozenset({"sign", "sign_type"})


def request_signing_string(params: Mapping[str, str]) -> str:
    return signing_string(params, REQUEST_UNSIGNED)


def notification_signing_string(params: Mapping[str, str]) -> str:
    return signing_string(params, NOTIFICATION_UNSIGNED)


def verify_notification(
    params: Mapping[str, str], *, public_key: rsa.RSAPublicKey, app_id: str
) -> None:
    """Check an asynchronous notification or raise AlipaySignatureError (pure: no I/O).

    Order: the signature's presence and type, the signature, then app_id (a notification for
    another of the merchant's applications is signed by the same Alipay key; it is genuine but
    not ours).
    """
    sign = params.get("sign")
    if not sign:
        raise AlipaySignatureError("signature_missing", "the notification has no `sign`")
    sign_type = params.get("sign_type")
    if sign_type != SIGN_TYPE:
        raise AlipaySignatureError(
            "sign_type_unsupported", f"sign_type {sign_type!r} is refused: only RSA2 is accepted"
        )
    if not rsa2_verify(notification_signing_string(params), sign, public_key):
        raise AlipaySignatureError(
            "signature_invalid", "the signature does not verify with Alipay's public key"
        )
    if params.get("app_id") != app_id:
        raise AlipaySignatureError(
            "app_id_mismatch", f"app_id {params.get('app_id')!r} is not this application's"
        )


# --- values ---------------------------------------------------------------------------------


def format_time(at: datetime) -> str:
    """An aware datetime as Alipay writes times: Beijing time, to the second."""
    if at.tzinfo is None:
        raise ValueError("an Alipay time needs an aware datetime")
    return at.astimezone(CHINA_TZ).strftime(TIME_FORMAT)


def parse_time(value: str) -> datetime:
    """An Alipay time ("2024-01-02 03:04:05", optionally with ".SSS" as in gmt_refund) in UTC."""
    text = value.strip()
    fmt = TIME_FORMAT + (".%f" if "." in text else "")
    return datetime.strptime(text, fmt).replace(tzinfo=CHINA_TZ).astimezone(UTC)


def format_amount(amount: Money) -> str:
    if amount.currency != CURRENCY:
        raise ValueError(f"Alipay takes CNY amounts only, not {amount.currency}")
    return amount.format()


def parse_amount(value: str) -> Money:
    """A yuan string ("100.00", "0.5") as Money; ValueError for anything else (no sign, no
    exponent, at most two decimals)."""
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", value.strip()):
        raise ValueError(f"not an Alipay amount: {value!r}")
    return Money.parse(value.strip(), CURRENCY)


def out_trade_no_for(order_id: str) -> str:
    """Our order id as an out_trade_no: a UUID's 32 hex digits (Alipay refuses `-`)."""
    candidate = order_id.replace("-", "") if _is_uuid(order_id) else order_id
    if not OUT_TRADE_NO.fullmatch(candidate):
        raise ValueError(f"order id {order_id!r} cannot be an Alipay out_trade_no")
    return candidate


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value))


# --- passback_params: the order facts -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What checkout knows about the order and webhook-ingest needs back from the payment."""

    order_id: str
    user_id: str
    credits: int
    package_id: str | None = None


_FACT_KEYS: Final = ("order_id", "user_id", "credits", "package_id")


def encode_passback(facts: OrderFacts) -> str:
    """The order facts as `passback_params`: a query string, URL-encoded once more as Alipay
    requires ("本参数必须进行 UrlEncode 之后才可以发送给支付宝"); ValueError past 512 chars."""
    inner = urlencode(
        [
            ("order_id", facts.order_id),
            ("user_id", facts.user_id),
            ("credits", str(facts.credits)),
            *([("package_id", facts.package_id)] if facts.package_id else []),
        ]
    )
    value = quote(inner, safe="")
    if len(value) > PASSBACK_MAX:
        raise ValueError(f"passback_params would be {len(value)} characters (at most 512)")
    return value


def decode_passback(value: str) -> OrderFacts:
    """The order facts from a notification's `passback_params` (ValueError if not ours / bad).

    Alipay returns the value as it was sent ("原样返回"), so after the form decoding it is still
    URL-encoded once; a value already decoded (a proxy or an SDK that decoded it) is recognized
    by its `=`, which the encoded form never contains, and is not decoded twice.
    """
    inner = value if "=" in value else unquote(value)
    pairs = parse_qsl(inner, keep_blank_values=True, strict_parsing=True)
    found: dict[str, str] = {}
    for k, v in pairs:
        if k in found:
            raise ValueError(f"passback_params repeats {k!r}")
        found[k] = v
    order_id, user_id, credits = found.get("order_id"), found.get("user_id"), found.get("credits")
    if not order_id or not order_id.strip():
        raise ValueError("passback_params has no order_id")
    if not user_id or not user_id.strip():
        raise ValueError("passback_params has no user_id")
    if credits is None or not credits.isascii() or not credits.isdigit() or len(credits) > 18:
        raise ValueError(f"passback_params credits is not a non-negative integer: {credits!r}")
    return OrderFacts(order_id, user_id, int(credits), found.get("package_id") or None)


# --- responses ------------------------------------------------------------------------------


def response_key(method: str) -> str:
    return method.replace(".", "_") + "_response"
