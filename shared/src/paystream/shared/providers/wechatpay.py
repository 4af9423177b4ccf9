"""WeChat Pay API v3: its signature scheme, resource decryption and our order-fact encodings.

What both sides of the wire need: checkout's client
(`paystream.checkout.providers.wechatpay_client`), the notification library
(`paystream.notifications.providers.wechatpay`) and the fake WeChat Pay server (whose signers
and encryption are in `paystream.devtools.fakes.signing`).

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
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote, unquote

import orjson
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from paystream.shared.providers.keys import load_public_key

AUTH_SCHEMA: Final = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_TYPE: Final = AUTH_SCHEMA
TIMESTAMP_TOLERANCE_S: Final = 300
AES_ALGORITHM: Final = "AEAD_AES_256_GCM"
RESOURCE_TYPE: Final = "encrypt-resource"

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


# --- RSA --------------------------------------------------------------------------------------


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


# --- responses and notifications: Wechatpay-* headers ---------------------------------------


def response_message(timestamp: int | str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


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


def check_timestamp(timestamp: str, now: float, tolerance_s: int) -> int:
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
        check_timestamp(signed.timestamp, now, self.tolerance_s)
        return signed


# --- AES-256-GCM resources ------------------------------------------------------------------


def apiv3_cipher(apiv3_key: str | bytes) -> AESGCM:
    """AEAD_AES_256_GCM keyed by the merchant's APIv3 key (exactly 32 bytes)."""
    key = apiv3_key.encode() if isinstance(apiv3_key, str) else apiv3_key
    if len(key) != 32:
        raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
    return AESGCM(key)


def aes_gcm_decrypt(
    apiv3_key: str | bytes, nonce: str, associated_data: str, ciphertext_b64: str
) -> bytes:
    """The plaintext, or DecryptionFailed (wrong key, tampered data, malformed fields)."""
    aes = apiv3_cipher(apiv3_key)
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
