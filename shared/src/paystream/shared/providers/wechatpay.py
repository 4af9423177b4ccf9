"""WeChat Pay API v3: its signature scheme, resource encryption, our order-fact encodings, and an
async client. Used by checkout (the client), webhook-ingest (notification verification and
decryption) and the fake WeChat Pay server (the other side of every one of these).

The wire format, as WeChat Pay documents it and its SDKs (`wechatpayv3`) implement it:

- A merchant request carries `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",
  nonce_str="..",signature="..",timestamp="..",serial_no=".."`; the signature is base64 of
  RSA-SHA256 (PKCS#1 v1.5) with the merchant private key over
  `METHOD\\nCANONICAL_URL\\ntimestamp\\nnonce\\nbody\\n` (CANONICAL_URL: path and query as sent;
  body: the exact bytes sent, empty for a GET). `serial_no` names the merchant certificate.
- Every WeChat Pay response and notification carries `Wechatpay-Timestamp`, `Wechatpay-Nonce`,
  `Wechatpay-Signature`, `Wechatpay-Serial` (and `Wechatpay-Signature-Type`); the signature is
  RSA-SHA256 over `timestamp\\nnonce\\nbody\\n` with the WeChat Pay platform key. We use the
  "WeChat Pay public key" mode: the serial is a public key id (`PUB_KEY_ID_...`) that must be one
  we were configured with; an unknown serial is refused, and so is a timestamp more than five
  minutes away from our clock in either direction (a captured message cannot be replayed later).
  WeChat Pay also sends "signature probes" whose signature starts with `WECHATPAY/SIGNTEST/`:
  they are wrong on purpose and fail verification like any forgery.
- A notification's `resource` is AEAD_AES_256_GCM encrypted with the merchant's APIv3 key (32
  bytes): `nonce` and `associated_data` are strings used as UTF-8 bytes, `ciphertext` is base64
  of the ciphertext with the 16-byte tag appended.

Our encodings (WeChat Pay echoes these back, so webhook-ingest never reads checkout's database):

- `out_trade_no` is the order id: a UUID is sent as its 32 hex digits (WeChat allows 32 chars of
  `[0-9A-Za-z_-|*]`), and read back as the canonical UUID string.
- `attach` carries the order facts (order id, user id, credits, package id) in a compact form,
  `ps1|<order>|<user>|<credits>|<package>`; a canonical UUID is written `!` + its 32 hex digits,
  anything else percent-encoded (so `|` and `!` never appear raw). WeChat Pay allows 128
  characters; what does not fit is refused when the order is placed (`AttachTooLong`).
- `out_refund_no` is our refund id AND the user id: `<refund>*<user>`. A refund notification
  carries no `attach`, only `out_trade_no` (the order) and `out_refund_no`; the user id, which
  is the Kafka key of every payment event, must come back from WeChat Pay itself, and the refund
  number is the one field of ours it echoes. The refund part is a UUID's 32 hex digits; the user
  part is `U` + base64url of a UUID's 16 bytes, `R` + the id itself when it only uses the
  characters WeChat allows (`[0-9A-Za-z_-|@]`), or `B` + base64url of its UTF-8 bytes; the whole
  is at most 64 characters. A user whose id cannot fit is refused at ORDER time
  (`check_refundable_user`), so that every payment we take can be refunded. The whole
  `out_refund_no` is the `provider_refund_id` of the refund events.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote, unquote

import httpx
import orjson
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

AUTH_SCHEMA: Final = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_TYPE: Final = AUTH_SCHEMA
TIMESTAMP_TOLERANCE_S: Final = 300
AES_ALGORITHM: Final = "AEAD_AES_256_GCM"
RESOURCE_TYPE: Final = "encrypt-resource"
DEFAULT_API_BASE: Final = "https://api.mch.weixin.qq.com"

H_TIMESTAMP: Final = "Wechatpay-Timestamp"
H_NONCE: Final = "Wechatpay-Nonce"
H_SIGNATURE: Final = "Wechatpay-Signature"
H_SERIAL: Final = "Wechatpay-Serial"
H_SIGNATURE_TYPE: Final = "Wechatpay-Signature-Type"

ATTACH_MAX: Final = 128
OUT_TRADE_NO_MAX: Final = 32
OUT_REFUND_NO_MAX: Final = 64
ATTACH_VERSION: Final = "ps1"
CURRENCY: Final = "CNY"


# --- errors ---------------------------------------------------------------------------------


class WeChatPayError(Exception):
    """Base of every WeChat Pay failure; `code` is stable, for mapping and logs."""

    code: str = "wechatpay_error"


class SignatureRefused(WeChatPayError):
    """A response or notification whose signature cannot be trusted."""

    code = "signature_invalid"


class SignatureMissing(SignatureRefused):
    code = "signature_missing"


class SignatureInvalid(SignatureRefused):
    code = "signature_invalid"


class UnknownSerial(SignatureRefused):
    code = "unknown_serial"


class TimestampOutsideTolerance(SignatureRefused):
    code = "timestamp_outside_tolerance"


class DecryptionFailed(WeChatPayError):
    """The resource does not decrypt with our APIv3 key (wrong key, tampered, malformed)."""

    code = "resource_undecryptable"


class MalformedNotification(WeChatPayError):
    code = "malformed_notification"


class AttachTooLong(WeChatPayError):
    code = "attach_too_long"


class InvalidAttach(WeChatPayError):
    code = "invalid_attach"


class InvalidReference(WeChatPayError):
    """An out_trade_no / out_refund_no we cannot build or read."""

    code = "invalid_reference"


class WeChatPayApiError(WeChatPayError):
    """WeChat Pay answered 4xx/5xx with its `{"code", "message"}` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.api_code = code
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.status >= 500


class WeChatPayUnavailable(WeChatPayError):
    """WeChat Pay could not be reached, or answered 5xx (after the retries, if any)."""

    code = "wechatpay_unavailable"


class ResponseNotTrusted(WeChatPayError):
    """A response whose signature did not verify: nothing in it may be believed."""

    code = "response_not_trusted"


# --- keys and RSA ---------------------------------------------------------------------------


def load_private_key(pem: str | bytes) -> RSAPrivateKey:
    data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("the WeChat Pay merchant key must be an RSA private key")
    return key


def load_public_key(pem: str | bytes) -> RSAPublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the WeChat Pay platform key must be an RSA public key")
    return key


def rsa_sign(private_key: RSAPrivateKey, message: bytes) -> str:
    """base64(RSA-SHA256 PKCS#1 v1.5 signature of `message`)."""
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key: RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def new_nonce() -> str:
    return secrets.token_hex(16).upper()


# --- merchant requests: Authorization -------------------------------------------------------


def request_message(
    method: str, canonical_url: str, timestamp: int | str, nonce: str, body: bytes
) -> bytes:
    head = f"{method.upper()}\n{canonical_url}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


@dataclass(frozen=True, slots=True)
class Authorization:
    mchid: str
    nonce_str: str
    signature: str
    timestamp: str
    serial_no: str

    def header(self) -> str:
        return (
            f'{AUTH_SCHEMA} mchid="{self.mchid}",nonce_str="{self.nonce_str}",'
            f'signature="{self.signature}",timestamp="{self.timestamp}",'
            f'serial_no="{self.serial_no}"'
        )


def build_authorization(
    *,
    mchid: str,
    serial_no: str,
    private_key: RSAPrivateKey,
    method: str,
    canonical_url: str,
    body: bytes,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> str:
    """The `Authorization` header value for one merchant request."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or new_nonce()
    signature = rsa_sign(private_key, request_message(method, canonical_url, ts, nonce, body))
    return Authorization(mchid, nonce, signature, ts, serial_no).header()


_AUTH_PARAM = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')


def parse_authorization(header: str | None) -> Authorization:
    """Split an `Authorization` header (SignatureMissing / SignatureInvalid)."""
    if not header:
        raise SignatureMissing("no Authorization header")
    schema, _, params = header.partition(" ")
    if schema != AUTH_SCHEMA:
        raise SignatureInvalid(f"authorization schema is not {AUTH_SCHEMA}")
    values: dict[str, str] = {}
    for part in params.split(","):
        m = _AUTH_PARAM.fullmatch(part)
        if m is None:
            raise SignatureInvalid("malformed Authorization parameters")
        values.setdefault(m.group(1), m.group(2))
    try:
        return Authorization(
            values["mchid"],
            values["nonce_str"],
            values["signature"],
            values["timestamp"],
            values["serial_no"],
        )
    except KeyError as exc:
        raise SignatureInvalid(f"Authorization lacks {exc.args[0]}") from None


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
    """What WeChat Pay does with a merchant request (the fake uses it)."""
    auth = parse_authorization(header)
    if auth.mchid != mchid:
        raise SignatureInvalid("mchid does not match")
    message = request_message(method, canonical_url, auth.timestamp, auth.nonce_str, body)
    if not rsa_verify(public_key, message, auth.signature):
        raise SignatureInvalid("the request signature does not verify")
    _check_timestamp(auth.timestamp, now, tolerance_s)
    return auth


# --- responses and notifications: Wechatpay-* headers ---------------------------------------


def response_message(timestamp: int | str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


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


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    timestamp: str
    nonce: str
    signature: str
    serial: str

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> SignedHeaders:
        """Read the Wechatpay-* headers (names case-insensitive); SignatureMissing if absent."""
        lower = {k.lower(): v for k, v in headers.items()}
        sig_type = lower.get(H_SIGNATURE_TYPE.lower())
        if sig_type is not None and sig_type != SIGNATURE_TYPE:
            raise SignatureInvalid(f"unsupported signature type {sig_type!r}")
        names = (H_TIMESTAMP, H_NONCE, H_SIGNATURE, H_SERIAL)
        values = {h: lower.get(h.lower(), "") for h in names}
        missing = [h for h in names if not values[h]]
        if missing:
            raise SignatureMissing(f"missing {', '.join(missing)}")
        return cls(values[H_TIMESTAMP], values[H_NONCE], values[H_SIGNATURE], values[H_SERIAL])

    def as_dict(self) -> dict[str, str]:
        return {
            H_TIMESTAMP: self.timestamp,
            H_NONCE: self.nonce,
            H_SIGNATURE: self.signature,
            H_SERIAL: self.serial,
        }


def _check_timestamp(timestamp: str, now: float, tolerance_s: int) -> int:
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureInvalid(f"timestamp {timestamp[:20]!r} is not unix seconds")
    ts = int(timestamp)
    if abs(now - ts) > tolerance_s:
        raise TimestampOutsideTolerance(f"timestamp {ts} is more than {tolerance_s}s from now")
    return ts


class PlatformVerifier:
    """Verifies what WeChat Pay signs, with the platform public keys we know by id."""

    __slots__ = ("_keys", "tolerance_s")

    def __init__(
        self,
        keys: Mapping[str, RSAPublicKey | str],
        *,
        tolerance_s: int = TIMESTAMP_TOLERANCE_S,
    ) -> None:
        if not keys:
            raise ValueError("at least one WeChat Pay platform public key is required")
        if tolerance_s <= 0:
            raise ValueError("tolerance must be positive")
        self._keys = {
            kid: (k if isinstance(k, RSAPublicKey) else load_public_key(k))
            for kid, k in keys.items()
        }
        self.tolerance_s = tolerance_s

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: float) -> SignedHeaders:
        """Return the verified headers, or raise a SignatureRefused."""
        signed = SignedHeaders.from_headers(headers)
        key = self._keys.get(signed.serial)
        if key is None:
            raise UnknownSerial(f"unknown Wechatpay-Serial {signed.serial[:64]!r}")
        message = response_message(signed.timestamp, signed.nonce, body)
        if not rsa_verify(key, message, signed.signature):
            raise SignatureInvalid("Wechatpay-Signature does not verify")
        _check_timestamp(signed.timestamp, now, self.tolerance_s)
        return signed


# --- AES-256-GCM resources ------------------------------------------------------------------


def _aes(apiv3_key: str | bytes) -> AESGCM:
    key = apiv3_key.encode() if isinstance(apiv3_key, str) else apiv3_key
    if len(key) != 32:
        raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
    return AESGCM(key)


def aes_gcm_encrypt(
    apiv3_key: str | bytes, nonce: str, associated_data: str, plaintext: bytes
) -> str:
    """base64(ciphertext || tag), as WeChat Pay sends it."""
    sealed = _aes(apiv3_key).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode()


def aes_gcm_decrypt(
    apiv3_key: str | bytes, nonce: str, associated_data: str, ciphertext_b64: str
) -> bytes:
    """The plaintext, or DecryptionFailed (wrong key, tampered data, malformed fields)."""
    aes = _aes(apiv3_key)
    try:
        data = base64.b64decode(ciphertext_b64.encode("ascii"), validate=True)
        return aes.decrypt(nonce.encode(), data, associated_data.encode())
    except (InvalidTag, binascii.Error, UnicodeEncodeError, ValueError):
        raise DecryptionFailed("the resource does not decrypt with our APIv3 key") from None


@dataclass(frozen=True, slots=True)
class EncryptedResource:
    algorithm: str
    ciphertext: str
    nonce: str
    associated_data: str
    original_type: str

    def as_dict(self) -> dict[str, str]:
        return {
            "algorithm": self.algorithm,
            "ciphertext": self.ciphertext,
            "nonce": self.nonce,
            "associated_data": self.associated_data,
            "original_type": self.original_type,
        }


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


@dataclass(frozen=True, slots=True)
class Notification:
    """A WeChat Pay v3 notification envelope (before decryption)."""

    id: str
    create_time: str | None
    event_type: str
    resource_type: str
    summary: str | None
    resource: EncryptedResource


def parse_notification(body: bytes | str) -> Notification:
    """The envelope of a (verified) notification body, or MalformedNotification."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedNotification("body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise MalformedNotification("body is not a JSON object")
    nid, event_type, resource = doc.get("id"), doc.get("event_type"), doc.get("resource")
    if not isinstance(nid, str) or not nid:
        raise MalformedNotification("notification has no `id`")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedNotification("notification has no `event_type`")
    if doc.get("resource_type") != RESOURCE_TYPE:
        raise MalformedNotification(f"resource_type is not {RESOURCE_TYPE}")
    if not isinstance(resource, dict):
        raise MalformedNotification("notification has no `resource`")
    if resource.get("algorithm") != AES_ALGORITHM:
        raise MalformedNotification(f"resource algorithm is not {AES_ALGORITHM}")
    fields = {}
    for name in ("ciphertext", "nonce"):
        value = resource.get(name)
        if not isinstance(value, str) or not value:
            raise MalformedNotification(f"resource has no `{name}`")
        fields[name] = value
    ad = resource.get("associated_data", "")
    ad = "" if ad is None else ad
    if not isinstance(ad, str):
        raise MalformedNotification("resource.associated_data is not a string")
    original = resource.get("original_type")
    create_time, summary = doc.get("create_time"), doc.get("summary")
    return Notification(
        id=nid,
        create_time=create_time if isinstance(create_time, str) else None,
        event_type=event_type,
        resource_type=RESOURCE_TYPE,
        summary=summary if isinstance(summary, str) else None,
        resource=EncryptedResource(
            AES_ALGORITHM,
            fields["ciphertext"],
            fields["nonce"],
            ad,
            original if isinstance(original, str) else "",
        ),
    )


def decrypt_resource(resource: EncryptedResource, apiv3_key: str | bytes) -> bytes:
    return aes_gcm_decrypt(apiv3_key, resource.nonce, resource.associated_data, resource.ciphertext)


# --- our references: out_trade_no, attach, out_refund_no ------------------------------------

_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_RAW_USER = re.compile(r"[0-9A-Za-z_\-|@]+")


def _canonical_uuid(value: str) -> uuid.UUID | None:
    try:
        u = uuid.UUID(value)
    except ValueError:
        return None
    return u if str(u) == value else None


def out_trade_no_for(order_id: str) -> str:
    u = _canonical_uuid(order_id)
    if u is not None:
        return u.hex
    if not _TRADE_NO.fullmatch(order_id):
        raise InvalidReference(f"order id {order_id!r} cannot be a WeChat Pay out_trade_no")
    return order_id


def order_id_from_out_trade_no(out_trade_no: str) -> str:
    if _HEX32.fullmatch(out_trade_no):
        return str(uuid.UUID(hex=out_trade_no))
    return out_trade_no


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: str
    user_id: str
    credits: int
    package_id: str | None = None


# Percent-encoding keeps `|` (the separator) and `!` (the UUID marker) out of the fields.
_ATTACH_SAFE = "-_.~:@/"


def _enc_field(value: str) -> str:
    u = _canonical_uuid(value)
    return "!" + u.hex if u is not None else quote(value, safe=_ATTACH_SAFE)


def _dec_field(value: str) -> str:
    if value.startswith("!"):
        if not _HEX32.fullmatch(value[1:]):
            raise InvalidAttach("a `!` field is not 32 hex digits")
        return str(uuid.UUID(hex=value[1:]))
    return unquote(value, errors="strict")


def encode_attach(facts: OrderFacts) -> str:
    """The compact `attach` for an order; AttachTooLong past WeChat Pay's 128 characters."""
    if not facts.order_id or not facts.user_id:
        raise InvalidAttach("order_id and user_id are required")
    if facts.credits < 0:
        raise InvalidAttach("credits must not be negative")
    attach = "|".join(
        (
            ATTACH_VERSION,
            _enc_field(facts.order_id),
            _enc_field(facts.user_id),
            str(facts.credits),
            _enc_field(facts.package_id) if facts.package_id else "",
        )
    )
    if len(attach) > ATTACH_MAX:
        raise AttachTooLong(f"the order facts need {len(attach)} > {ATTACH_MAX} characters")
    return attach


def decode_attach(attach: str) -> OrderFacts:
    parts = attach.split("|")
    if len(parts) != 5 or parts[0] != ATTACH_VERSION:
        raise InvalidAttach(f"attach is not a {ATTACH_VERSION} order reference")
    _, order, user, credits, package = parts
    if not credits.isascii() or not credits.isdigit() or len(credits) > 18:
        raise InvalidAttach(f"credits {credits[:20]!r} is not a non-negative integer")
    try:
        order_id, user_id = _dec_field(order), _dec_field(user)
        package_id = _dec_field(package) if package else None
    except UnicodeDecodeError:
        raise InvalidAttach("a field is not valid percent-encoded UTF-8") from None
    if not order_id or not user_id:
        raise InvalidAttach("attach names no order or no user")
    return OrderFacts(order_id, user_id, int(credits), package_id)


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _user_token(user_id: str) -> str:
    if not user_id:
        raise InvalidReference("user id is empty")
    u = _canonical_uuid(user_id)
    if u is not None:
        return "U" + _b64u(u.bytes)
    if _RAW_USER.fullmatch(user_id):
        return "R" + user_id
    return "B" + _b64u(user_id.encode())


def _refund_part(refund_id: str) -> str:
    u = _canonical_uuid(refund_id)
    if u is None:
        raise InvalidReference(f"refund id {refund_id!r} is not a UUID")
    return u.hex


def encode_out_refund_no(refund_id: str, user_id: str) -> str:
    """`<refund hex>*<user token>`, at most 64 characters (InvalidReference otherwise)."""
    out = f"{_refund_part(refund_id)}*{_user_token(user_id)}"
    if len(out) > OUT_REFUND_NO_MAX:
        raise InvalidReference(
            f"user id {user_id[:40]!r} is too long for a WeChat Pay refund number"
        )
    return out


def decode_out_refund_no(out_refund_no: str) -> tuple[str, str]:
    """(refund_id, user_id) from an out_refund_no we made (InvalidReference otherwise)."""
    refund, sep, token = out_refund_no.partition("*")
    if not sep or not _HEX32.fullmatch(refund) or len(token) < 2:
        raise InvalidReference("out_refund_no is not one of ours")
    kind, rest = token[0], token[1:]
    try:
        if kind == "U":
            raw = _unb64u(rest)
            if len(raw) != 16:
                raise ValueError("not 16 bytes")
            user_id = str(uuid.UUID(bytes=raw))
        elif kind == "R" and _RAW_USER.fullmatch(rest):
            user_id = rest
        elif kind == "B":
            user_id = _unb64u(rest).decode()
        else:
            raise ValueError(f"unknown user token kind {kind!r}")
    except (ValueError, binascii.Error) as exc:
        raise InvalidReference(f"out_refund_no user part is unreadable: {exc}") from None
    if not user_id:
        raise InvalidReference("out_refund_no names no user")
    return str(uuid.UUID(hex=refund)), user_id


def check_refundable_user(user_id: str) -> None:
    """Refuse (InvalidReference) a user for whom no refund number could ever be built."""
    encode_out_refund_no(str(uuid.UUID(int=0)), user_id)


def rfc3339(at: datetime) -> str:
    """`2018-06-08T10:34:56+08:00`: seconds precision with an explicit offset."""
    if at.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return at.isoformat(timespec="seconds")


def parse_rfc3339(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


# --- the client -----------------------------------------------------------------------------


class RefundState(enum.StrEnum):
    SUCCESS = "SUCCESS"
    PROCESSING = "PROCESSING"
    ABNORMAL = "ABNORMAL"
    CLOSED = "CLOSED"


class CloseResult(enum.StrEnum):
    CLOSED = "closed"
    ALREADY_CLOSED = "already_closed"
    ALREADY_PAID = "already_paid"


@dataclass(frozen=True, slots=True)
class Refund:
    out_refund_no: str
    refund_id: str | None
    status: str
    amount_refund: int | None
    raw: dict[str, Any]


class WeChatPayClient:
    """WeChat Pay API v3 (direct merchant): Native orders, refunds, close and query.

    Every request is signed; every response is verified (signature, serial, timestamp) before
    anything in it is believed. Retries (connection errors and 5xx only) are made for calls
    that are idempotent at WeChat Pay: all of these are keyed by our out_trade_no /
    out_refund_no, and a repeated native order with the same parameters returns the same QR.
    """

    def __init__(
        self,
        *,
        api_base: str = DEFAULT_API_BASE,
        mchid: str,
        appid: str,
        merchant_serial_no: str,
        merchant_private_key: RSAPrivateKey | str,
        platform_public_keys: Mapping[str, RSAPublicKey | str],
        timeout_s: float = 10.0,
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.mchid = mchid
        self.appid = appid
        self._serial_no = merchant_serial_no
        self._key = (
            merchant_private_key
            if isinstance(merchant_private_key, RSAPrivateKey)
            else load_private_key(merchant_private_key)
        )
        self._verifier = PlatformVerifier(platform_public_keys)
        self._max_retries = max_retries
        self._http = httpx.AsyncClient(
            base_url=api_base.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "paystream-wechatpay/1"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def native(
        self,
        *,
        out_trade_no: str,
        description: str,
        total_fen: int,
        notify_url: str,
        time_expire: datetime,
        attach: str,
    ) -> str:
        """POST /v3/pay/transactions/native; returns the `code_url` to show as a QR code."""
        if len(attach) > ATTACH_MAX:
            raise AttachTooLong(f"attach has {len(attach)} > {ATTACH_MAX} characters")
        body = {
            "appid": self.appid,
            "mchid": self.mchid,
            # WeChat Pay allows 127 characters of description.
            "description": description[:127],
            "out_trade_no": out_trade_no,
            "time_expire": rfc3339(time_expire),
            "attach": attach,
            "notify_url": notify_url,
            "amount": {"total": total_fen, "currency": CURRENCY},
        }
        status, doc = await self._call("POST", "/v3/pay/transactions/native", body)
        code_url = doc.get("code_url") if doc else None
        if status != 200 or not isinstance(code_url, str) or not code_url:
            raise ResponseNotTrusted(f"native answered {status} without a code_url")
        return code_url

    async def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str | None = None,
        notify_url: str | None = None,
    ) -> Refund:
        """POST /v3/refund/domestic/refunds (one refund per out_refund_no, however often)."""
        body: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": CURRENCY},
        }
        if reason:
            body["reason"] = reason[:80]
        if notify_url:
            body["notify_url"] = notify_url
        _, doc = await self._call("POST", "/v3/refund/domestic/refunds", body)
        return _refund_of(doc, out_refund_no)

    async def query_refund(self, out_refund_no: str) -> Refund:
        _, doc = await self._call(
            "GET", f"/v3/refund/domestic/refunds/{quote(out_refund_no, safe='')}", None
        )
        return _refund_of(doc, out_refund_no)

    async def close(self, out_trade_no: str) -> CloseResult:
        """Close an unpaid order. A closed order is not an error; a paid one cannot be closed
        (ALREADY_PAID: its notification credits it)."""
        try:
            await self._call(
                "POST",
                f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}/close",
                {"mchid": self.mchid},
            )
        except WeChatPayApiError as exc:
            if exc.api_code == "ORDER_CLOSED":
                return CloseResult.ALREADY_CLOSED
            if exc.api_code == "ORDERPAID":
                return CloseResult.ALREADY_PAID
            raise
        return CloseResult.CLOSED

    async def query(self, out_trade_no: str) -> dict[str, Any]:
        """GET /v3/pay/transactions/out-trade-no/{out_trade_no}: the transaction."""
        _, doc = await self._call(
            "GET",
            f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}"
            f"?mchid={quote(self.mchid, safe='')}",
            None,
        )
        if doc is None:
            raise ResponseNotTrusted("query answered without a body")
        return doc

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any] | None]:
        content = orjson.dumps(body) if body is not None else b""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_retries + 1),
            wait=wait_exponential(multiplier=0.2, max=2),
            retry=retry_if_exception_type(WeChatPayUnavailable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, content)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self, method: str, path: str, content: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        request = self._http.build_request(
            method,
            path,
            content=content if method != "GET" else None,
            headers={"Content-Type": "application/json"} if method != "GET" else None,
        )
        # The canonical URL is what actually goes on the wire: path and query as encoded.
        request.headers["Authorization"] = build_authorization(
            mchid=self.mchid,
            serial_no=self._serial_no,
            private_key=self._key,
            method=method,
            canonical_url=request.url.raw_path.decode("ascii"),
            body=content if method != "GET" else b"",
        )
        try:
            response = await self._http.send(request)
        except (TimeoutError, httpx.TransportError) as exc:
            raise WeChatPayUnavailable(f"WeChat Pay unreachable: {exc!r}") from exc
        raw = response.content
        if response.status_code >= 500 and H_SIGNATURE not in response.headers:
            # A gateway in front of WeChat Pay, not WeChat Pay: nothing signed to verify.
            raise WeChatPayUnavailable(f"WeChat Pay answered {response.status_code}")
        try:
            self._verifier.verify(response.headers, raw, now=time.time())
        except SignatureRefused as exc:
            raise ResponseNotTrusted(
                f"response {response.status_code} not trusted: {exc.code}: {exc}"
            ) from exc
        doc: dict[str, Any] | None = None
        if raw:
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise ResponseNotTrusted("response body is not JSON") from None
            if not isinstance(parsed, dict):
                raise ResponseNotTrusted("response body is not a JSON object")
            doc = parsed
        if response.status_code >= 400:
            code = str((doc or {}).get("code") or "UNKNOWN")
            message = str((doc or {}).get("message") or "")
            error = WeChatPayApiError(response.status_code, code, message)
            if error.retryable:
                raise WeChatPayUnavailable(str(error)) from error
            raise error
        return response.status_code, doc


def _refund_of(doc: dict[str, Any] | None, out_refund_no: str) -> Refund:
    if doc is None:
        raise ResponseNotTrusted("refund answered without a body")
    if doc.get("out_refund_no") != out_refund_no:
        raise ResponseNotTrusted("refund answer names another out_refund_no")
    status = doc.get("status")
    if not isinstance(status, str):
        raise ResponseNotTrusted("refund answer has no status")
    amount = doc.get("amount")
    refund = amount.get("refund") if isinstance(amount, dict) else None
    rid = doc.get("refund_id")
    return Refund(
        out_refund_no,
        rid if isinstance(rid, str) else None,
        status,
        refund if isinstance(refund, int) else None,
        doc,
    )
