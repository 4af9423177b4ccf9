"""Alipay open platform: the wire format, RSA2 signatures, and a small async gateway client.

Shared by checkout (opening payments, refunds, closing trades), webhook-ingest (verifying the
asynchronous notifications) and the local fake gateway (which plays Alipay with the same code
from the other side).

The scheme, as Alipay documents it (opendocs.alipay.com, "自行实现签名" / "自行实现验签"):

- RSA2 is SHA256withRSA, PKCS#1 v1.5 padding, the signature base64 encoded (no line breaks).
  The merchant signs requests with its application private key; Alipay signs responses and
  notifications with its own private key, which the merchant verifies with "Alipay's public key".
- A request's string to sign is every parameter except `sign`, with an empty value left out,
  sorted by key (byte order), as `k=v` joined by `&`, values NOT URL-encoded.
- A gateway response is `{"<method with dots as underscores>_response": {...}, "sign": "..."}`:
  the signature covers the exact raw JSON text of the `..._response` value as it was sent, so it is
  cut out of the body, never re-serialized (a re-serialization differs in spacing and escapes).
  A response without `sign` (Alipay does not sign some gateway-level refusals) is trusted only
  to say that the call failed.
- An asynchronous notification is form-encoded; its string to sign is like a request's, but
  without `sign` AND `sign_type`. We accept RSA2 only (the legacy RSA is SHA1).

Amounts on the wire are yuan strings with two decimals ("100.00"); times are
"YYYY-MM-DD HH:MM:SS" in Beijing time (Asia/Shanghai, UTC+8, no daylight saving: a fixed offset
is exact and needs no tz database).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote, urlencode

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from paystream.shared.money import Money

GATEWAY_URL: Final = "https://openapi.alipay.com/gateway.do"
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


class AlipayApiError(AlipayError):
    """The gateway answered `code != 10000`: the call was refused (typed by code / sub_code)."""

    def __init__(
        self,
        method: str,
        code: str,
        msg: str | None = None,
        sub_code: str | None = None,
        sub_msg: str | None = None,
        *,
        signed: bool = True,
    ) -> None:
        super().__init__(
            f"{method} refused: code={code} msg={msg!r} sub_code={sub_code} sub_msg={sub_msg!r}"
        )
        self.method = method
        self.code = code
        self.msg = msg
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        # Alipay leaves some gateway-level refusals unsigned; such an answer is only believed to
        # say "failed", never what the trade is.
        self.signed = signed


class AlipayUnavailable(AlipayError):
    """The gateway could not be reached or answered with a server error (after retries)."""


# --- keys -----------------------------------------------------------------------------------


def _key_text(value: str) -> str:
    """A key given as PEM text, `@<path>` to a PEM file, or Alipay's bare base64 (its key tool
    and the open platform console show keys without the PEM armour)."""
    value = value.strip()
    if value.startswith("@"):
        value = Path(value[1:]).read_text().strip()
    return value


def load_private_key(value: str) -> rsa.RSAPrivateKey:
    text = _key_text(value)
    key: object
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        key = serialization.load_der_private_key(base64.b64decode("".join(text.split())), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the Alipay application key must be an RSA private key")
    return key


def load_public_key(value: str) -> rsa.RSAPublicKey:
    text = _key_text(value)
    key: object
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode("".join(text.split())))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the Alipay public key must be an RSA public key")
    return key


def public_key_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


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


def sign_request(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> dict[str, str]:
    """`params` with their `sign` (the merchant's side, and the fake's for checking it)."""
    out = {k: v for k, v in params.items() if k != "sign"}
    out["sign"] = rsa2_sign(request_signing_string(out), key)
    return out


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


def encode_biz_content(biz: Mapping[str, Any]) -> str:
    # Compact, and UTF-8 kept as is (a Chinese subject is sent as characters, as charset says).
    return json.dumps(biz, separators=(",", ":"), ensure_ascii=False)


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


# --- requests and responses -----------------------------------------------------------------


def build_request(
    method: str,
    biz_content: Mapping[str, Any],
    *,
    app_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
    notify_url: str | None = None,
    return_url: str | None = None,
) -> dict[str, str]:
    """The signed parameters of one gateway call (common parameters + biz_content)."""
    params = {
        "app_id": app_id,
        "method": method,
        "format": "JSON",
        "charset": CHARSET,
        "sign_type": SIGN_TYPE,
        "timestamp": format_time(now),
        "version": VERSION,
        "biz_content": encode_biz_content(biz_content),
    }
    if notify_url:
        params["notify_url"] = notify_url
    if return_url:
        params["return_url"] = return_url
    return sign_request(params, private_key)


def response_key(method: str) -> str:
    return method.replace(".", "_") + "_response"


_WS: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = json.JSONDecoder()


def top_level_spans(raw: str) -> dict[str, tuple[int, int]]:
    """Where each top-level member's value lies in `raw` (a JSON object), as [start, end).

    A real JSON scan (strings, escapes and nesting understood), unlike a brace count, so a `}`
    inside a string cannot move the signed span. A repeated key is refused: the signed copy and
    the one a parser keeps could differ.
    """

    def skip(i: int) -> int:
        m = _WS.match(raw, i)
        return m.end() if m else i

    i = skip(0)
    if raw[i : i + 1] != "{":
        raise ValueError("not a JSON object")
    i = skip(i + 1)
    spans: dict[str, tuple[int, int]] = {}
    if raw[i : i + 1] == "}":
        i += 1
    else:
        while True:
            if raw[i : i + 1] != '"':
                raise ValueError("expected a member name")
            key, i = _DECODER.raw_decode(raw, i)
            i = skip(i)
            if raw[i : i + 1] != ":":
                raise ValueError("expected ':'")
            start = skip(i + 1)
            _, i = _DECODER.raw_decode(raw, start)
            if key in spans:
                raise ValueError(f"repeated member {key!r}")
            spans[key] = (start, i)
            i = skip(i)
            sep = raw[i : i + 1]
            if sep == ",":
                i = skip(i + 1)
                continue
            if sep == "}":
                i += 1
                break
            raise ValueError("expected ',' or '}'")
    if raw[i:].strip():
        raise ValueError("data after the JSON object")
    return spans


def signed_content(raw: str, method: str) -> tuple[str, str | None]:
    """The raw text of the response member (`<method>_response`, or `error_response`) and the
    `sign` next to it (None if unsigned); ValueError if the body is not such a response."""
    try:
        spans = top_level_spans(raw)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an Alipay response: {exc}") from None
    span = spans.get(response_key(method)) or spans.get("error_response")
    if span is None:
        raise ValueError(f"no {response_key(method)} in the response")
    content = raw[span[0] : span[1]]
    sign_span = spans.get("sign")
    sign = None
    if sign_span is not None:
        value = json.loads(raw[sign_span[0] : sign_span[1]])
        if not isinstance(value, str):
            raise ValueError("`sign` is not a string")
        sign = value or None
    return content, sign


def verify_response(raw: str, method: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The verified content of a gateway response; AlipayApiError when it says code != 10000,
    AlipaySignatureError when it is not signed by Alipay (or cannot be read)."""
    try:
        text, sign = signed_content(raw, method)
        content = json.loads(text)
    except ValueError as exc:
        raise AlipaySignatureError("malformed", str(exc)) from None
    if not isinstance(content, dict):
        raise AlipaySignatureError("malformed", "the response member is not an object")
    code = str(content.get("code", ""))
    if sign is None:
        if code and code != SUCCESS_CODE:
            raise _api_error(method, content, signed=False)
        raise AlipaySignatureError("signature_missing", f"unsigned {method} response")
    if not rsa2_verify(text, sign, public_key):
        raise AlipaySignatureError("signature_invalid", f"{method} response signature invalid")
    if code != SUCCESS_CODE:
        raise _api_error(method, content, signed=True)
    return content


def _api_error(method: str, content: Mapping[str, Any], *, signed: bool) -> AlipayApiError:
    def s(name: str) -> str | None:
        v = content.get(name)
        return str(v) if v is not None else None

    return AlipayApiError(
        method, s("code") or "", s("msg"), s("sub_code"), s("sub_msg"), signed=signed
    )


def signed_response(method: str, content: Mapping[str, Any], key: rsa.RSAPrivateKey | None) -> str:
    """A gateway response body as Alipay writes it (the fake's side): the member text, then its
    signature over exactly that text; `key=None` leaves it unsigned."""
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    body = f'{{"{response_key(method)}":{text}'
    if key is not None:
        body += f',"sign":"{rsa2_sign(text, key)}"'
    return body + "}"


# --- the client -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefundResult:
    # Whether THIS call moved money; "N" is also what a repeated out_request_no answers.
    fund_change: bool
    # Cumulative: everything refunded on the trade so far, this refund included.
    refund_fee: Money
    trade_no: str | None
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class RefundQueryResult:
    refund_status: str | None  # "REFUND_SUCCESS", or None if the refund is unknown / not done
    refund_amount: Money | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def succeeded(self) -> bool:
        return self.refund_status == "REFUND_SUCCESS"


@dataclass(frozen=True, slots=True)
class TradeQueryResult:
    trade_status: str
    trade_no: str | None
    total_amount: Money | None
    raw: dict[str, Any] = field(repr=False)


class CloseOutcome(enum.StrEnum):
    CLOSED = "closed"
    # A precreate trade exists at Alipay only once the buyer scanned the code.
    NOT_FOUND = "not_found"
    ALREADY_CLOSED = "already_closed"
    ALREADY_PAID = "already_paid"


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, AlipayUnavailable)


class AlipayClient:
    """The gateway calls paystream makes, over httpx (form POST, as Alipay's SDKs do).

    Every call here is idempotent at Alipay (precreate by out_trade_no, refund by
    out_request_no, close and queries by nature), so connection errors and 5xx are retried.
    """

    def __init__(
        self,
        *,
        gateway_url: str,
        app_id: str,
        private_key: str,
        alipay_public_key: str,
        timeout_s: float = 10.0,
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.gateway_url = gateway_url
        self.app_id = app_id
        self._private_key = load_private_key(private_key)
        self._public_key = load_public_key(alipay_public_key)
        self._max_retries = max_retries
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    def signed_params(
        self,
        method: str,
        biz: Mapping[str, Any],
        *,
        notify_url: str | None = None,
        return_url: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, str]:
        return build_request(
            method,
            biz,
            app_id=self.app_id,
            private_key=self._private_key,
            now=now or datetime.now(UTC),
            notify_url=notify_url,
            return_url=return_url,
        )

    async def call(
        self, method: str, biz: Mapping[str, Any], *, notify_url: str | None = None
    ) -> dict[str, Any]:
        """One verified gateway call (AlipayApiError, AlipaySignatureError, AlipayUnavailable)."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self._max_retries + 1),
            wait=wait_exponential(multiplier=0.2, max=2),
            reraise=True,
        ):
            with attempt:
                # Signed per attempt: the timestamp is part of the signed parameters.
                params = self.signed_params(method, biz, notify_url=notify_url)
                raw = await self._post(method, params)
        return verify_response(raw, method, self._public_key)

    async def _post(self, method: str, params: dict[str, str]) -> str:
        try:
            r = await self._http.post(
                self.gateway_url,
                params={"charset": CHARSET},
                data=params,
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise AlipayUnavailable(f"{method}: {type(exc).__name__}: {exc}") from exc
        if r.status_code >= 500:
            raise AlipayUnavailable(f"{method}: HTTP {r.status_code}")
        # Alipay answers refusals with 200 and a code in the body: another status means the URL
        # is not Alipay's gateway, which no retry changes.
        if r.status_code != 200:
            raise AlipayError(f"{method}: unexpected HTTP {r.status_code} from the gateway")
        return r.content.decode("utf-8")

    async def precreate(
        self,
        *,
        out_trade_no: str,
        total_amount: Money,
        subject: str,
        notify_url: str,
        passback_params: str | None = None,
        time_expire: datetime | None = None,
        now: datetime | None = None,
    ) -> str:
        """alipay.trade.precreate: the `qr_code` string the buyer scans."""
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "total_amount": format_amount(total_amount),
            "subject": subject,
        }
        if passback_params:
            biz["passback_params"] = passback_params
        if time_expire is not None:
            biz["time_expire"] = format_time(time_expire)
            # The older precreate documentation knows only the relative form; time_expire wins
            # where both are understood. Rounded down: never promise more than the order's TTL.
            minutes = int((time_expire - (now or datetime.now(UTC))).total_seconds() // 60)
            biz["timeout_express"] = f"{max(minutes, 1)}m"
        content = await self.call(PRECREATE, biz, notify_url=notify_url)
        qr = content.get("qr_code")
        if not isinstance(qr, str) or not qr:
            raise AlipayApiError(PRECREATE, SUCCESS_CODE, "no qr_code in the response")
        return qr

    def page_pay_url(
        self,
        *,
        out_trade_no: str,
        total_amount: Money,
        subject: str,
        notify_url: str,
        return_url: str | None = None,
        passback_params: str | None = None,
        time_expire: datetime | None = None,
        now: datetime | None = None,
    ) -> str:
        """alipay.trade.page.pay as a signed GET URL to the gateway: the buyer's browser goes
        there (no HTTP call from us)."""
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "total_amount": format_amount(total_amount),
            "subject": subject,
            "product_code": "FAST_INSTANT_TRADE_PAY",
        }
        if passback_params:
            biz["passback_params"] = passback_params
        if time_expire is not None:
            biz["time_expire"] = format_time(time_expire)
        params = self.signed_params(
            PAGE_PAY, biz, notify_url=notify_url, return_url=return_url, now=now
        )
        sep = "&" if "?" in self.gateway_url else "?"
        return f"{self.gateway_url}{sep}{urlencode(params)}"

    async def refund(
        self,
        *,
        out_trade_no: str,
        refund_amount: Money,
        out_request_no: str,
        reason: str | None = None,
    ) -> RefundResult:
        """alipay.trade.refund, answered synchronously; repeating an out_request_no returns the
        first refund's answer with fund_change N (never a second refund)."""
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "refund_amount": format_amount(refund_amount),
            "out_request_no": out_request_no,
        }
        if reason:
            biz["refund_reason"] = reason[:256]
        content = await self.call(REFUND, biz)
        try:
            refund_fee = parse_amount(str(content.get("refund_fee", "")))
        except ValueError:
            raise AlipayApiError(REFUND, SUCCESS_CODE, "no valid refund_fee") from None
        return RefundResult(
            fund_change=content.get("fund_change") == "Y",
            refund_fee=refund_fee,
            trade_no=_opt_str(content.get("trade_no")),
            raw=content,
        )

    async def refund_query(self, *, out_trade_no: str, out_request_no: str) -> RefundQueryResult:
        """alipay.trade.fastpay.refund.query: where fund_change=N leaves a refund's fate open."""
        content = await self.call(
            REFUND_QUERY, {"out_trade_no": out_trade_no, "out_request_no": out_request_no}
        )
        amount = None
        if content.get("refund_amount"):
            try:
                amount = parse_amount(str(content["refund_amount"]))
            except ValueError:
                amount = None
        return RefundQueryResult(_opt_str(content.get("refund_status")), amount, content)

    async def query(self, *, out_trade_no: str) -> TradeQueryResult:
        content = await self.call(QUERY, {"out_trade_no": out_trade_no})
        total = None
        if content.get("total_amount"):
            try:
                total = parse_amount(str(content["total_amount"]))
            except ValueError:
                total = None
        return TradeQueryResult(
            trade_status=str(content.get("trade_status", "")),
            trade_no=_opt_str(content.get("trade_no")),
            total_amount=total,
            raw=content,
        )

    async def close(self, *, out_trade_no: str) -> CloseOutcome:
        """alipay.trade.close; a trade that does not exist or is already over is not an error."""
        try:
            await self.call(CLOSE, {"out_trade_no": out_trade_no})
            return CloseOutcome.CLOSED
        except AlipayApiError as exc:
            if exc.signed and exc.sub_code == TRADE_NOT_EXIST:
                return CloseOutcome.NOT_FOUND
            if not (exc.signed and exc.sub_code == TRADE_STATUS_ERROR):
                raise
            refusal = exc
        # Closing is refused for a trade that is closed or paid: find out which.
        status = (await self.query(out_trade_no=out_trade_no)).trade_status
        if status == TRADE_CLOSED:
            return CloseOutcome.ALREADY_CLOSED
        if status in (TRADE_SUCCESS, TRADE_FINISHED):
            return CloseOutcome.ALREADY_PAID
        raise refusal


def _opt_str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
