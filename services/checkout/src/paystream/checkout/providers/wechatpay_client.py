"""WeChat Pay API v3 as checkout calls it (direct merchant): signed requests, verified answers.

The wire format both sides share (signature messages, the Wechatpay-* headers, our attach and
refund-number encodings) is `paystream.shared.providers.wechatpay`; this module is the
merchant's side only: it signs every request with the merchant key and believes an answer only
once the platform key verified it.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import quote

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from paystream.shared.providers.keys import load_private_key
from paystream.shared.providers.wechatpay import (
    ATTACH_MAX,
    CURRENCY,
    H_SIGNATURE,
    AttachTooLong,
    Authorization,
    PlatformVerifier,
    SignatureRefused,
    WeChatPayError,
    new_nonce,
    request_message,
    rfc3339,
    rsa_sign,
)

DEFAULT_API_BASE: Final = "https://api.mch.weixin.qq.com"


# --- errors ---------------------------------------------------------------------------------


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


# --- Authorization ----------------------------------------------------------------------------


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

    async def tradebill(self, bill_date: date, bill_type: str) -> tuple[bytes, str]:
        """GET /v3/bill/tradebill, then the file: (its bytes, the SHA1 the signed answer gave).
        The download is signed like any request, but its answer is not: the caller checks the
        hash."""
        _, doc = await self._call(
            "GET",
            f"/v3/bill/tradebill?bill_date={bill_date.isoformat()}&bill_type={bill_type}",
            None,
        )
        url, digest = (doc or {}).get("download_url"), (doc or {}).get("hash_value")
        if not isinstance(url, str) or not isinstance(digest, str):
            raise ResponseNotTrusted("tradebill answered without download_url / hash_value")
        request = self._http.build_request("GET", url)
        request.headers["Authorization"] = build_authorization(
            mchid=self.mchid,
            serial_no=self._serial_no,
            private_key=self._key,
            method="GET",
            canonical_url=request.url.raw_path.decode("ascii"),
            body=b"",
        )
        try:
            response = await self._http.send(request)
        except (TimeoutError, httpx.TransportError) as exc:
            raise WeChatPayUnavailable(f"bill download: {exc!r}") from exc
        if response.status_code >= 500:
            raise WeChatPayUnavailable(f"bill download answered {response.status_code}")
        if response.status_code != 200:
            raise WeChatPayApiError(response.status_code, "DOWNLOAD_FAILED", response.text[:200])
        return response.content, digest

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
