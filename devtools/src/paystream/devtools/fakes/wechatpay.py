"""A fake WeChat Pay API v3 server (direct merchant, Native payments) for tests and the demo.

It speaks the documented wire format with the real signature scheme (see
`paystream.shared.providers.wechatpay`): every merchant request must carry a valid
`Authorization` (WECHATPAY2-SHA256-RSA2048 with the merchant key; 401 SIGN_ERROR otherwise), and
every answer, errors included, is signed with the platform key and carries the `Wechatpay-*`
headers, the serial being the platform public key id ("WeChat Pay public key" mode).

API (state in memory):
- `POST /v3/pay/transactions/native` -> 200 `{"code_url": "weixin://wxpay/bizpayurl?pr=<token>"}`;
  the same out_trade_no with the same parameters gets the same code_url, with others
  403 OUT_TRADE_NO_USED; a closed one 400 ORDER_CLOSED.
- `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=` -> the transaction (trade_state
  NOTPAY / SUCCESS / REFUND / CLOSED), 404 ORDER_NOT_EXIST.
- `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` -> 204; a closed order
  400 ORDER_CLOSED, a paid one 400 ORDERPAID, an unknown one 404 ORDER_NOT_EXIST.
- `POST /v3/refund/domestic/refunds` -> the refund: SUCCESS at once (`refund_mode="success"`),
  or PROCESSING (`refund_mode="processing"`), completed by the control endpoint below or, with
  `refund_delay_s`, by the fake itself after that delay (then the REFUND.SUCCESS notification is
  sent to the refund's notify_url). More than what is left to refund: 400 INVALID_REQUEST; an
  `amount.total` that is not the payment's: 400 PARAM_ERROR; an unpaid order: 403 TRADE_ERROR;
  an unknown one: 404 RESOURCE_NOT_EXISTS. The same out_refund_no again returns that refund.
- `GET /v3/refund/domestic/refunds/{out_refund_no}` -> the refund.
- `GET /v3/bill/tradebill?bill_date=yyyy-MM-dd&bill_type=ALL|SUCCESS|REFUND` -> `{"hash_type":
  "SHA1", "hash_value", "download_url"}`; `GET /v3/billdownload/file?token=` (signed request,
  unsigned answer: the hash vouches for it) -> the bill's CSV (`bills.py`). A day not begun in
  Beijing: 400 INVALID_REQUEST. Unlike WeChat Pay (bills from 10:00 the next day) the fake
  serves the day so far.

Control endpoints for tests and the demo (no Authorization):
- `POST /_fake/transactions/{out_trade_no}/pay` marks the order paid (again: resends the same
  notification, as WeChat Pay retries) and POSTs the signed, encrypted TRANSACTION.SUCCESS
  notification to its notify_url; answers `{"transaction", "notify": {"status", "body"} |
  {"error"}}`. Body `{"deliver": false}` marks it paid without notifying.
- `POST /_fake/refunds/{out_refund_no}/succeed` (`/abnormal`, `/close`): settles a PROCESSING
  refund and POSTs REFUND.SUCCESS (REFUND.ABNORMAL, REFUND.CLOSED).
- `GET /_fake/transactions/{out_trade_no}`: the transaction and its refunds, unsigned.
- `/_fake/bill/edits`: lines of the bill left out, changed or added (`bills.py`).
- `/_fake/faults`: an API call's answer late or lost after it took effect (`faults.py`); calls
  `native`, `query`, `close`, `refund`, `query_refund`.

Pure builders of notifications (tests forge, tamper and age them): `transaction_resource`,
`refund_resource`, `build_notification_body`, `sign_notification`, `transaction_notification`,
`refund_notification`.

Run it: `python -m paystream.devtools.fakes.wechatpay --port 12121`, configured by environment
(PEM strings; a value starting with `@` is read from that file):
- `PAYSTREAM_FAKE_WECHATPAY_PLATFORM_PRIVATE_KEY`: the platform private key (PKCS#8 PEM), which
  signs answers and notifications;
- `PAYSTREAM_FAKE_WECHATPAY_PLATFORM_PUBLIC_KEY_ID`: its id, sent as `Wechatpay-Serial`
  (default `PUB_KEY_ID_FAKE0001`);
- `PAYSTREAM_FAKE_WECHATPAY_MERCHANT_PUBLIC_KEY`: the merchant public key, which verifies
  requests;
- `PAYSTREAM_FAKE_WECHATPAY_MCHID`, `PAYSTREAM_FAKE_WECHATPAY_APIV3_KEY` (32 bytes);
- optional: `PAYSTREAM_FAKE_WECHATPAY_APPID`, `PAYSTREAM_FAKE_WECHATPAY_MERCHANT_SERIAL_NO`
  (checked against the Authorization's serial_no when set), `PAYSTREAM_FAKE_WECHATPAY_REFUND_MODE`
  (`success` | `processing`, default success), `PAYSTREAM_FAKE_WECHATPAY_REFUND_DELAY_S`,
  `PAYSTREAM_FAKE_WECHATPAY_PORT` (when `--port` is not given).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final, Literal

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paystream.devtools.fakes import free_port, run
from paystream.devtools.fakes.bills import BillEdits, BillLine, on_day, wechatpay_tradebill
from paystream.devtools.fakes.faults import Faults
from paystream.devtools.fakes.signing import encrypt_resource, sign_response, verify_authorization
from paystream.shared.providers.keys import load_private_key, load_public_key, read_setting
from paystream.shared.providers.wechatpay import ATTACH_MAX, SignatureRefused, rfc3339

ENV_PREFIX: Final = "PAYSTREAM_FAKE_WECHATPAY_"
DEFAULT_PUBLIC_KEY_ID: Final = "PUB_KEY_ID_FAKE0001"
_CST: Final = timezone(timedelta(hours=8))  # WeChat Pay writes its times in Beijing time

RefundMode = Literal["success", "processing"]


# --- keys for tests and the demo -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeChatPayKeys:
    """Throwaway key material for one fake WeChat Pay merchant (never commit real keys)."""

    merchant_private_key: str
    merchant_public_key: str
    platform_private_key: str
    platform_public_key: str
    platform_public_key_id: str = DEFAULT_PUBLIC_KEY_ID
    merchant_serial_no: str = "5157F09EFDC096DE15EBE81A47057A72FAKE0001"
    mchid: str = "1900000109"
    appid: str = "wxd678efh567hg6787"
    apiv3_key: str = "paystreamFakeApiV3Key0123456789a"


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def generate_keys() -> WeChatPayKeys:
    """Fresh 2048-bit merchant and platform key pairs (slow: make it once per session)."""
    merchant_private, merchant_public = _rsa_pair()
    platform_private, platform_public = _rsa_pair()
    return WeChatPayKeys(merchant_private, merchant_public, platform_private, platform_public)


# --- pure notification builders -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedNotification:
    body: bytes
    headers: dict[str, str]


def _now_cst() -> datetime:
    return datetime.now(_CST).replace(microsecond=0)


def transaction_resource(
    *,
    mchid: str,
    appid: str,
    out_trade_no: str,
    transaction_id: str,
    total_fen: int,
    attach: str | None,
    trade_state: str = "SUCCESS",
    success_time: datetime | None = None,
    currency: str = "CNY",
) -> dict[str, Any]:
    """The decrypted `resource` of a transaction notification (original_type transaction)."""
    doc: dict[str, Any] = {
        "mchid": mchid,
        "appid": appid,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id,
        "trade_type": "NATIVE",
        "trade_state": trade_state,
        "trade_state_desc": {"SUCCESS": "支付成功", "CLOSED": "已关闭"}.get(trade_state, ""),
        "bank_type": "OTHERS",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {
            "total": total_fen,
            "payer_total": total_fen,
            "currency": currency,
            "payer_currency": currency,
        },
    }
    if attach is not None:
        doc["attach"] = attach
    if trade_state == "SUCCESS":
        doc["success_time"] = rfc3339(success_time or _now_cst())
    return doc


def refund_resource(
    *,
    mchid: str,
    out_trade_no: str,
    transaction_id: str,
    out_refund_no: str,
    refund_id: str,
    refund_status: str,
    refund_fen: int,
    total_fen: int,
    success_time: datetime | None = None,
) -> dict[str, Any]:
    """The decrypted `resource` of a refund notification (original_type refund)."""
    doc: dict[str, Any] = {
        "mchid": mchid,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id,
        "out_refund_no": out_refund_no,
        "refund_id": refund_id,
        "refund_status": refund_status,
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": total_fen,
            "refund": refund_fen,
            "payer_total": total_fen,
            "payer_refund": refund_fen,
        },
    }
    if refund_status == "SUCCESS":
        doc["success_time"] = rfc3339(success_time or _now_cst())
    return doc


_SUMMARY = {
    "TRANSACTION.SUCCESS": "支付成功",
    "REFUND.SUCCESS": "退款成功",
    "REFUND.ABNORMAL": "退款异常",
    "REFUND.CLOSED": "退款关闭",
}


def build_notification_body(
    *,
    event_type: str,
    resource: Mapping[str, Any] | bytes,
    original_type: str,
    apiv3_key: str | bytes,
    notification_id: str | None = None,
    create_time: datetime | None = None,
    associated_data: str | None = None,
    nonce: str | None = None,
) -> bytes:
    """A v3 notification body with `resource` (a dict, or raw plaintext bytes) encrypted."""
    plaintext = resource if isinstance(resource, bytes) else orjson.dumps(dict(resource))
    encrypted = encrypt_resource(
        apiv3_key,
        plaintext,
        original_type=original_type,
        associated_data=original_type if associated_data is None else associated_data,
        nonce=nonce,
    )
    return orjson.dumps(
        {
            "id": notification_id or str(uuid.uuid4()),
            "create_time": rfc3339(create_time or _now_cst()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": _SUMMARY.get(event_type, event_type),
            "resource": encrypted.as_dict(),
        }
    )


def sign_notification(
    body: bytes,
    *,
    platform_private_key: RSAPrivateKey | str,
    platform_public_key_id: str,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> SignedNotification:
    key = (
        platform_private_key
        if isinstance(platform_private_key, RSAPrivateKey)
        else load_private_key(platform_private_key)
    )
    headers = sign_response(
        body, private_key=key, serial=platform_public_key_id, timestamp=timestamp, nonce=nonce
    )
    headers["Content-Type"] = "application/json"
    return SignedNotification(body, headers)


def transaction_notification(
    resource: Mapping[str, Any],
    *,
    apiv3_key: str | bytes,
    platform_private_key: RSAPrivateKey | str,
    platform_public_key_id: str,
    event_type: str = "TRANSACTION.SUCCESS",
    notification_id: str | None = None,
    timestamp: int | None = None,
) -> SignedNotification:
    body = build_notification_body(
        event_type=event_type,
        resource=resource,
        original_type="transaction",
        apiv3_key=apiv3_key,
        notification_id=notification_id,
    )
    return sign_notification(
        body,
        platform_private_key=platform_private_key,
        platform_public_key_id=platform_public_key_id,
        timestamp=timestamp,
    )


def refund_notification(
    resource: Mapping[str, Any],
    *,
    apiv3_key: str | bytes,
    platform_private_key: RSAPrivateKey | str,
    platform_public_key_id: str,
    notification_id: str | None = None,
    timestamp: int | None = None,
) -> SignedNotification:
    """REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED after `resource["refund_status"]`."""
    body = build_notification_body(
        event_type=f"REFUND.{resource['refund_status']}",
        resource=resource,
        original_type="refund",
        apiv3_key=apiv3_key,
        notification_id=notification_id,
    )
    return sign_notification(
        body,
        platform_private_key=platform_private_key,
        platform_public_key_id=platform_public_key_id,
        timestamp=timestamp,
    )


# --- the server -----------------------------------------------------------------------------


@dataclass
class _Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    refund_fen: int
    status: str
    notify_url: str | None
    reason: str | None
    create_time: datetime
    success_time: datetime | None = None
    notification_id: str | None = None


@dataclass
class _Transaction:
    out_trade_no: str
    appid: str
    description: str
    total_fen: int
    attach: str | None
    notify_url: str
    time_expire: str | None
    code_url: str
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    notification_id: str | None = None
    refunds: list[_Refund] = field(default_factory=list)

    def params(self) -> tuple[Any, ...]:
        return (
            self.appid,
            self.description,
            self.total_fen,
            self.attach,
            self.notify_url,
            self.time_expire,
        )

    def refunded(self) -> int:
        return sum(r.refund_fen for r in self.refunds if r.status in ("SUCCESS", "PROCESSING"))


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeWeChatPay:
    """The fake's state and behaviour; `create_app` exposes it as `app.state.fake`."""

    def __init__(
        self,
        *,
        platform_private_key: RSAPrivateKey,
        platform_public_key_id: str,
        merchant_public_key: RSAPublicKey,
        mchid: str,
        apiv3_key: str,
        appid: str | None,
        merchant_serial_no: str | None,
        refund_mode: RefundMode,
        refund_delay_s: float | None,
        notify_transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.platform_private_key = platform_private_key
        self.platform_public_key_id = platform_public_key_id
        self.merchant_public_key = merchant_public_key
        self.mchid = mchid
        self.apiv3_key = apiv3_key
        self.appid = appid
        self.merchant_serial_no = merchant_serial_no
        self.refund_mode: RefundMode = refund_mode
        self.refund_delay_s = refund_delay_s
        self.notify_transport = notify_transport
        self.transactions: dict[str, _Transaction] = {}
        self.refunds: dict[str, _Refund] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.bill_edits = BillEdits()
        self.bill_files: dict[str, bytes] = {}

    # --- answers ---------------------------------------------------------------------------

    def signed(self, status: int, content: Any | None) -> Response:
        body = b"" if content is None else orjson.dumps(content)
        headers = sign_response(
            body, private_key=self.platform_private_key, serial=self.platform_public_key_id
        )
        if content is not None:
            headers["Content-Type"] = "application/json"
        return Response(body, status_code=status, headers=headers)

    def error(self, exc: _ApiError) -> Response:
        return self.signed(exc.status, {"code": exc.code, "message": exc.message})

    async def authenticate(self, request: Request) -> bytes:
        body = await request.body()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        canonical = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        try:
            auth = verify_authorization(
                request.headers.get("authorization"),
                method=request.method,
                canonical_url=canonical,
                body=body,
                public_key=self.merchant_public_key,
                mchid=self.mchid,
                now=time.time(),
            )
        except SignatureRefused as exc:
            raise _ApiError(401, "SIGN_ERROR", f"签名错误: {exc}") from None
        if self.merchant_serial_no is not None and auth.serial_no != self.merchant_serial_no:
            raise _ApiError(401, "SIGN_ERROR", "商户证书序列号不匹配")
        return body

    # --- API -------------------------------------------------------------------------------

    def native(self, doc: dict[str, Any]) -> dict[str, Any]:
        if doc.get("mchid") != self.mchid:
            raise _ApiError(400, "MCH_NOT_EXISTS", "商户号不存在")
        appid = doc.get("appid")
        if not isinstance(appid, str) or (self.appid is not None and appid != self.appid):
            raise _ApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        otn = doc.get("out_trade_no")
        if not isinstance(otn, str) or not 6 <= len(otn) <= 32:
            raise _ApiError(400, "PARAM_ERROR", "out_trade_no 格式错误")
        amount = doc.get("amount")
        total = amount.get("total") if isinstance(amount, dict) else None
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            raise _ApiError(400, "PARAM_ERROR", "amount.total 必须为正整数")
        if isinstance(amount, dict) and amount.get("currency", "CNY") != "CNY":
            raise _ApiError(400, "PARAM_ERROR", "currency 仅支持 CNY")
        attach = doc.get("attach")
        if attach is not None and (not isinstance(attach, str) or len(attach) > ATTACH_MAX):
            raise _ApiError(400, "PARAM_ERROR", "attach 长度超过128")
        notify_url = doc.get("notify_url")
        if not isinstance(notify_url, str) or not notify_url.startswith(("http://", "https://")):
            raise _ApiError(400, "PARAM_ERROR", "notify_url 格式错误")
        description = doc.get("description")
        if not isinstance(description, str) or not description:
            raise _ApiError(400, "PARAM_ERROR", "description 不能为空")
        time_expire = doc.get("time_expire")
        tx = _Transaction(
            out_trade_no=otn,
            appid=appid,
            description=description,
            total_fen=total,
            attach=attach,
            notify_url=notify_url,
            time_expire=time_expire if isinstance(time_expire, str) else None,
            code_url=f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}",
        )
        existing = self.transactions.get(otn)
        if existing is not None:
            if existing.trade_state == "CLOSED":
                raise _ApiError(400, "ORDER_CLOSED", "订单已关闭")
            if existing.params() != tx.params():
                raise _ApiError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            if existing.trade_state != "NOTPAY":
                raise _ApiError(400, "ORDERPAID", "该订单已支付")
            return {"code_url": existing.code_url}
        self.transactions[otn] = tx
        return {"code_url": tx.code_url}

    def transaction_doc(self, tx: _Transaction) -> dict[str, Any]:
        doc = transaction_resource(
            mchid=self.mchid,
            appid=tx.appid,
            out_trade_no=tx.out_trade_no,
            transaction_id=tx.transaction_id or "",
            total_fen=tx.total_fen,
            attach=tx.attach,
            trade_state=tx.trade_state if tx.trade_state != "REFUND" else "SUCCESS",
            success_time=tx.success_time,
        )
        doc["trade_state"] = tx.trade_state
        if tx.transaction_id is None:
            del doc["transaction_id"]
            doc.pop("payer", None)
        return doc

    def find(self, out_trade_no: str) -> _Transaction:
        tx = self.transactions.get(out_trade_no)
        if tx is None:
            raise _ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return tx

    def close(self, out_trade_no: str, doc: dict[str, Any]) -> None:
        if doc.get("mchid") != self.mchid:
            raise _ApiError(400, "MCH_NOT_EXISTS", "商户号不存在")
        tx = self.find(out_trade_no)
        if tx.trade_state == "CLOSED":
            raise _ApiError(400, "ORDER_CLOSED", "订单已关闭")
        if tx.trade_state in ("SUCCESS", "REFUND"):
            raise _ApiError(400, "ORDERPAID", "订单已支付")
        tx.trade_state = "CLOSED"

    def refund(self, doc: dict[str, Any]) -> _Refund:
        otn, orn = doc.get("out_trade_no"), doc.get("out_refund_no")
        if not isinstance(otn, str) or not isinstance(orn, str) or not 1 <= len(orn) <= 64:
            raise _ApiError(400, "PARAM_ERROR", "out_trade_no 或 out_refund_no 格式错误")
        amount = doc.get("amount")
        fen = amount.get("refund") if isinstance(amount, dict) else None
        total = amount.get("total") if isinstance(amount, dict) else None
        if not isinstance(fen, int) or not isinstance(total, int) or fen <= 0:
            raise _ApiError(400, "PARAM_ERROR", "amount.refund / amount.total 必须为正整数")
        if isinstance(amount, dict) and amount.get("currency") != "CNY":
            raise _ApiError(400, "PARAM_ERROR", "currency 仅支持 CNY")
        tx = self.transactions.get(otn)
        if tx is None:
            raise _ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        existing = self.refunds.get(orn)
        if existing is not None:
            if existing.refund_fen != fen or existing.out_trade_no != otn:
                raise _ApiError(400, "INVALID_REQUEST", "同一退款单号多次请求, 退款金额不一致")
            return existing
        if tx.trade_state not in ("SUCCESS", "REFUND"):
            raise _ApiError(403, "TRADE_ERROR", "订单未支付, 不能退款")
        if total != tx.total_fen:
            raise _ApiError(400, "PARAM_ERROR", "订单金额与原订单金额不一致")
        if fen > tx.total_fen - tx.refunded():
            raise _ApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        notify_url, reason = doc.get("notify_url"), doc.get("reason")
        r = _Refund(
            out_refund_no=orn,
            refund_id=f"50{secrets.randbelow(10**26):026d}",
            out_trade_no=otn,
            refund_fen=fen,
            status="PROCESSING",
            notify_url=notify_url if isinstance(notify_url, str) else None,
            reason=reason if isinstance(reason, str) else None,
            create_time=_now_cst(),
        )
        if self.refund_mode == "success":
            r.status, r.success_time = "SUCCESS", _now_cst()
        tx.refunds.append(r)
        tx.trade_state = "REFUND"
        self.refunds[orn] = r
        if r.status == "PROCESSING" and self.refund_delay_s is not None:
            task = asyncio.get_running_loop().create_task(self._settle_later(r))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return r

    async def _settle_later(self, r: _Refund) -> None:
        assert self.refund_delay_s is not None
        await asyncio.sleep(self.refund_delay_s)
        if r.status == "PROCESSING":
            await self.settle_refund(r.out_refund_no, "SUCCESS")

    def refund_doc(self, r: _Refund) -> dict[str, Any]:
        tx = self.transactions[r.out_trade_no]
        doc: dict[str, Any] = {
            "refund_id": r.refund_id,
            "out_refund_no": r.out_refund_no,
            "transaction_id": tx.transaction_id,
            "out_trade_no": r.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": rfc3339(r.create_time),
            "status": r.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": tx.total_fen,
                "refund": r.refund_fen,
                "payer_total": tx.total_fen,
                "payer_refund": r.refund_fen,
                "settlement_refund": r.refund_fen,
                "settlement_total": tx.total_fen,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if r.success_time is not None:
            doc["success_time"] = rfc3339(r.success_time)
        return doc

    # --- bills -----------------------------------------------------------------------------

    def bill_lines(self, bill_type: str) -> list[BillLine]:
        lines: list[BillLine] = []
        for tx in self.transactions.values():
            if bill_type in ("ALL", "SUCCESS") and tx.success_time is not None:
                lines.append(
                    BillLine(
                        "payment",
                        tx.out_trade_no,
                        tx.total_fen,
                        tx.success_time,
                        tx.transaction_id or "",
                        subject=tx.description,
                    )
                )
            if bill_type in ("ALL", "REFUND"):
                lines.extend(
                    BillLine(
                        "refund",
                        r.out_refund_no,
                        r.refund_fen,
                        r.success_time,
                        r.refund_id,
                        trade_reference=tx.out_trade_no,
                        trade_provider_id=tx.transaction_id or "",
                        subject=tx.description,
                    )
                    for r in tx.refunds
                    if r.status == "SUCCESS" and r.success_time is not None
                )
        return lines

    def tradebill(self, bill_date: str | None, bill_type: str, base_url: str) -> dict[str, Any]:
        if bill_type not in ("ALL", "SUCCESS", "REFUND"):
            raise _ApiError(400, "PARAM_ERROR", "bill_type 不正确")
        try:
            day = date.fromisoformat(bill_date or "")
        except ValueError:
            raise _ApiError(400, "PARAM_ERROR", "bill_date 格式不正确") from None
        if day > _now_cst().date():
            raise _ApiError(400, "INVALID_REQUEST", "账单日期不能晚于今天")
        kind = "payment" if bill_type == "SUCCESS" else "refund" if bill_type == "REFUND" else None
        edited = [
            x for x in self.bill_edits.apply(self.bill_lines(bill_type)) if kind in (None, x.kind)
        ]
        body = wechatpay_tradebill(
            on_day(edited, day, _CST), mchid=self.mchid, appid=self.appid or ""
        )
        token = secrets.token_urlsafe(16)
        self.bill_files[token] = body
        return {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(body).hexdigest(),  # noqa: S324 - WeChat Pay's choice
            "download_url": f"{base_url}/v3/billdownload/file?token={token}",
        }

    # --- control ---------------------------------------------------------------------------

    def pay(self, out_trade_no: str) -> tuple[_Transaction, SignedNotification]:
        tx = self.find(out_trade_no)
        if tx.trade_state == "CLOSED":
            raise _ApiError(400, "ORDER_CLOSED", "订单已关闭")
        if tx.trade_state == "NOTPAY":
            tx.trade_state = "SUCCESS"
            tx.transaction_id = f"42{secrets.randbelow(10**26):026d}"
            tx.success_time = _now_cst()
            tx.notification_id = str(uuid.uuid4())
        assert tx.transaction_id is not None
        resource = transaction_resource(
            mchid=self.mchid,
            appid=tx.appid,
            out_trade_no=tx.out_trade_no,
            transaction_id=tx.transaction_id,
            total_fen=tx.total_fen,
            attach=tx.attach,
            success_time=tx.success_time,
        )
        # A retried notification keeps its id, exactly as WeChat Pay's retries do.
        notification = transaction_notification(
            resource,
            apiv3_key=self.apiv3_key,
            platform_private_key=self.platform_private_key,
            platform_public_key_id=self.platform_public_key_id,
            notification_id=tx.notification_id,
        )
        return tx, notification

    async def settle_refund(self, out_refund_no: str, status: str) -> dict[str, Any]:
        r = self.refunds.get(out_refund_no)
        if r is None:
            raise _ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        if r.status == "PROCESSING":
            r.status = status
            r.success_time = _now_cst() if status == "SUCCESS" else None
            r.notification_id = str(uuid.uuid4())
        elif r.status != status:
            raise _ApiError(400, "INVALID_REQUEST", f"退款已是 {r.status}")
        r.notification_id = r.notification_id or str(uuid.uuid4())
        tx = self.transactions[r.out_trade_no]
        notification = refund_notification(
            refund_resource(
                mchid=self.mchid,
                out_trade_no=r.out_trade_no,
                transaction_id=tx.transaction_id or "",
                out_refund_no=r.out_refund_no,
                refund_id=r.refund_id,
                refund_status=r.status,
                refund_fen=r.refund_fen,
                total_fen=tx.total_fen,
                success_time=r.success_time,
            ),
            apiv3_key=self.apiv3_key,
            platform_private_key=self.platform_private_key,
            platform_public_key_id=self.platform_public_key_id,
            notification_id=r.notification_id,
        )
        return {
            "refund": self.refund_doc(r),
            "notify": await self.deliver(r.notify_url, notification),
        }

    async def deliver(self, url: str | None, n: SignedNotification) -> dict[str, Any]:
        if not url:
            return {"error": "no notify_url"}
        try:
            async with httpx.AsyncClient(transport=self.notify_transport, timeout=10) as http:
                answer = await http.post(url, content=n.body, headers=n.headers)
        except httpx.HTTPError as exc:
            return {"error": repr(exc)}
        return {"status": answer.status_code, "body": answer.text}


def create_app(
    platform_private_key_pem: str,
    platform_public_key_id: str,
    merchant_public_key_pem: str,
    mchid: str,
    apiv3_key: str,
    *,
    appid: str | None = None,
    merchant_serial_no: str | None = None,
    refund_mode: RefundMode = "success",
    refund_delay_s: float | None = None,
    notify_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The fake WeChat Pay server. `notify_transport` lets a test deliver notifications to an
    in-process app; by default they go over real HTTP."""
    if len(apiv3_key.encode()) != 32:
        raise ValueError("the APIv3 key must be 32 bytes")
    fake = FakeWeChatPay(
        platform_private_key=load_private_key(platform_private_key_pem),
        platform_public_key_id=platform_public_key_id,
        merchant_public_key=load_public_key(merchant_public_key_pem),
        mchid=mchid,
        apiv3_key=apiv3_key,
        appid=appid,
        merchant_serial_no=merchant_serial_no,
        refund_mode=refund_mode,
        refund_delay_s=refund_delay_s,
        notify_transport=notify_transport,
    )

    faults = Faults()

    async def _json(body: bytes) -> dict[str, Any]:
        try:
            doc = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict):
            raise _ApiError(400, "PARAM_ERROR", "请求体不是 JSON 对象")
        return doc

    async def native(request: Request) -> Response:
        try:
            doc = await _json(await fake.authenticate(request))
            return await faults.answer("native", fake.signed(200, fake.native(doc)))
        except _ApiError as exc:
            return fake.error(exc)

    async def query(request: Request) -> Response:
        try:
            await fake.authenticate(request)
            if request.query_params.get("mchid") != fake.mchid:
                raise _ApiError(400, "PARAM_ERROR", "mchid 不正确")
            tx = fake.find(request.path_params["out_trade_no"])
            return await faults.answer("query", fake.signed(200, fake.transaction_doc(tx)))
        except _ApiError as exc:
            return fake.error(exc)

    async def close(request: Request) -> Response:
        try:
            doc = await _json(await fake.authenticate(request))
            fake.close(request.path_params["out_trade_no"], doc)
            return await faults.answer("close", fake.signed(204, None))
        except _ApiError as exc:
            return fake.error(exc)

    async def refund(request: Request) -> Response:
        try:
            doc = await _json(await fake.authenticate(request))
            return await faults.answer(
                "refund", fake.signed(200, fake.refund_doc(fake.refund(doc)))
            )
        except _ApiError as exc:
            return fake.error(exc)

    async def query_refund(request: Request) -> Response:
        try:
            await fake.authenticate(request)
            r = fake.refunds.get(request.path_params["out_refund_no"])
            if r is None:
                raise _ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return await faults.answer("query_refund", fake.signed(200, fake.refund_doc(r)))
        except _ApiError as exc:
            return fake.error(exc)

    async def control_pay(request: Request) -> Response:
        body = await request.body()
        options = orjson.loads(body) if body else {}
        try:
            tx, notification = fake.pay(request.path_params["out_trade_no"])
        except _ApiError as exc:
            return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)
        out: dict[str, Any] = {"transaction": fake.transaction_doc(tx)}
        if not isinstance(options, dict) or options.get("deliver", True):
            out["notify"] = await fake.deliver(tx.notify_url, notification)
        return JSONResponse(out)

    def control_refund(status: str) -> Any:
        async def settle(request: Request) -> Response:
            try:
                return JSONResponse(
                    await fake.settle_refund(request.path_params["out_refund_no"], status)
                )
            except _ApiError as exc:
                return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)

        return settle

    async def control_show(request: Request) -> Response:
        tx = fake.transactions.get(request.path_params["out_trade_no"])
        if tx is None:
            return JSONResponse({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, 404)
        return JSONResponse(
            {
                "transaction": fake.transaction_doc(tx),
                "refunds": [fake.refund_doc(r) for r in tx.refunds],
            }
        )

    async def tradebill(request: Request) -> Response:
        try:
            await fake.authenticate(request)
            q = request.query_params
            base = str(request.base_url).rstrip("/")
            doc = fake.tradebill(q.get("bill_date"), q.get("bill_type", "ALL"), base)
            return fake.signed(200, doc)
        except _ApiError as exc:
            return fake.error(exc)

    async def bill_file(request: Request) -> Response:
        try:
            await fake.authenticate(request)
            body = fake.bill_files.get(request.query_params.get("token", ""))
            if body is None:
                raise _ApiError(404, "RESOURCE_NOT_EXISTS", "账单文件不存在")
            return Response(body, media_type="text/csv; charset=utf-8")
        except _ApiError as exc:
            return fake.error(exc)

    tx_path = "/v3/pay/transactions/out-trade-no/{out_trade_no}"
    app = Starlette(
        routes=[
            Route("/v3/pay/transactions/native", native, methods=["POST"]),
            Route(tx_path, query, methods=["GET"]),
            Route(f"{tx_path}/close", close, methods=["POST"]),
            Route("/v3/refund/domestic/refunds", refund, methods=["POST"]),
            Route("/v3/refund/domestic/refunds/{out_refund_no}", query_refund, methods=["GET"]),
            Route("/v3/bill/tradebill", tradebill, methods=["GET"]),
            Route("/v3/billdownload/file", bill_file, methods=["GET"]),
            *fake.bill_edits.routes(),
            Route("/_fake/transactions/{out_trade_no}/pay", control_pay, methods=["POST"]),
            Route("/_fake/transactions/{out_trade_no}", control_show, methods=["GET"]),
            Route(
                "/_fake/refunds/{out_refund_no}/succeed",
                control_refund("SUCCESS"),
                methods=["POST"],
            ),
            Route(
                "/_fake/refunds/{out_refund_no}/abnormal",
                control_refund("ABNORMAL"),
                methods=["POST"],
            ),
            Route(
                "/_fake/refunds/{out_refund_no}/close", control_refund("CLOSED"), methods=["POST"]
            ),
            *faults.routes(),
        ]
    )
    app.state.fake = fake
    app.state.faults = faults
    return app


def app_for(
    keys: WeChatPayKeys,
    *,
    refund_mode: RefundMode = "success",
    refund_delay_s: float | None = None,
    notify_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """`create_app` for a `WeChatPayKeys` merchant."""
    return create_app(
        keys.platform_private_key,
        keys.platform_public_key_id,
        keys.merchant_public_key,
        keys.mchid,
        keys.apiv3_key,
        appid=keys.appid,
        merchant_serial_no=keys.merchant_serial_no,
        refund_mode=refund_mode,
        refund_delay_s=refund_delay_s,
        notify_transport=notify_transport,
    )


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(ENV_PREFIX + name, default)
    if value is None or value == "":
        raise SystemExit(f"{ENV_PREFIX}{name} is required")
    return read_setting(value)


def app_from_env() -> Starlette:
    delay = os.environ.get(ENV_PREFIX + "REFUND_DELAY_S")
    mode = os.environ.get(ENV_PREFIX + "REFUND_MODE", "success")
    if mode not in ("success", "processing"):
        raise SystemExit(f"{ENV_PREFIX}REFUND_MODE must be success or processing")
    return create_app(
        _env("PLATFORM_PRIVATE_KEY"),
        _env("PLATFORM_PUBLIC_KEY_ID", DEFAULT_PUBLIC_KEY_ID),
        _env("MERCHANT_PUBLIC_KEY"),
        _env("MCHID"),
        _env("APIV3_KEY"),
        appid=os.environ.get(ENV_PREFIX + "APPID") or None,
        merchant_serial_no=os.environ.get(ENV_PREFIX + "MERCHANT_SERIAL_NO") or None,
        refund_mode="processing" if mode == "processing" else "success",
        refund_delay_s=float(delay) if delay else None,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake WeChat Pay API v3 server")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    port = args.port or int(os.environ.get(ENV_PREFIX + "PORT", "0")) or free_port()
    run(app_from_env(), port)


if __name__ == "__main__":
    main()
