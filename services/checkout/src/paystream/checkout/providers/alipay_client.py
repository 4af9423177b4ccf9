"""Alipay's gateway as checkout calls it: signed requests, verified responses, over httpx.

The wire format both sides share (signing strings, RSA2, amounts, times, passback_params) is
`paystream.shared.providers.alipay`; this module is the merchant's side only: it signs requests
with the application key and believes a response only once Alipay's signature over its raw text
verified.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from paystream.shared.money import Money
from paystream.shared.providers.alipay import (
    CHARSET,
    CLOSE,
    PAGE_PAY,
    PRECREATE,
    QUERY,
    REFUND,
    REFUND_QUERY,
    SIGN_TYPE,
    SUCCESS_CODE,
    TRADE_CLOSED,
    TRADE_FINISHED,
    TRADE_NOT_EXIST,
    TRADE_STATUS_ERROR,
    TRADE_SUCCESS,
    VERSION,
    AlipayError,
    AlipaySignatureError,
    format_amount,
    format_time,
    parse_amount,
    request_signing_string,
    response_key,
    rsa2_sign,
    rsa2_verify,
)
from paystream.shared.providers.keys import load_private_key, load_public_key

GATEWAY_URL: Final = "https://openapi.alipay.com/gateway.do"
BILL_URL_QUERY: Final = "alipay.data.dataservice.bill.downloadurl.query"
BILL_NOT_EXIST: Final = "isp.bill_not_exist"


# --- errors ---------------------------------------------------------------------------------


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


# --- requests and responses -----------------------------------------------------------------


def sign_request(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> dict[str, str]:
    """`params` with their `sign` (the merchant's side)."""
    out = {k: v for k, v in params.items() if k != "sign"}
    out["sign"] = rsa2_sign(request_signing_string(out), key)
    return out


def encode_biz_content(biz: Mapping[str, Any]) -> str:
    # Compact, and UTF-8 kept as is (a Chinese subject is sent as characters, as charset says).
    return json.dumps(biz, separators=(",", ":"), ensure_ascii=False)


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

    async def bill_download_url(self, bill_date: date) -> str | None:
        """The day's `trade` bill URL (valid 30 s at Alipay); None when Alipay has no bill for
        that day (isp.bill_not_exist: nothing was traded)."""
        try:
            content = await self.call(
                BILL_URL_QUERY, {"bill_type": "trade", "bill_date": bill_date.isoformat()}
            )
        except AlipayApiError as exc:
            if exc.signed and exc.sub_code == BILL_NOT_EXIST:
                return None
            raise
        url = content.get("bill_download_url")
        if not isinstance(url, str) or not url:
            raise AlipayApiError(BILL_URL_QUERY, SUCCESS_CODE, "no bill_download_url")
        return url

    async def download(self, url: str) -> bytes:
        try:
            r = await self._http.get(url)
        except httpx.TransportError as exc:
            raise AlipayUnavailable(f"bill download: {type(exc).__name__}: {exc}") from exc
        if r.status_code >= 500:
            raise AlipayUnavailable(f"bill download: HTTP {r.status_code}")
        if r.status_code != 200:
            raise AlipayError(f"bill download: HTTP {r.status_code}")
        return r.content


def _opt_str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
