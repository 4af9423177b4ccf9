"""WeChat Pay (API v3, direct merchant) as a payment provider: `wechat_pay_native`, CNY only.

- An order becomes a Native transaction: `out_trade_no` is the order id (a UUID's 32 hex
  digits), the order facts ride in `attach` (WeChat Pay echoes it in the payment notification),
  and the payer scans `code_url` (`PaymentInstructions.qr_code`). An order whose facts do not fit
  `attach`, or whose user id could not fit a refund number, is refused before anything is sent,
  so every payment taken can be credited and refunded.
- A refund's `out_refund_no` encodes our refund id and the user id (the refund notification
  carries no attach; see `paystream.shared.providers.wechatpay`), and that whole number is the
  `provider_refund_id`: the one webhook-ingest announces the refund under. SUCCESS is
  SUCCEEDED, PROCESSING is PENDING (the REFUND.* notification settles it), ABNORMAL and CLOSED
  are FAILED; a refusal by WeChat Pay (4xx, e.g. more than is left to refund) is FAILED with
  its code; an unreachable or untrustworthy WeChat Pay is ProviderUnavailable (the refund stays
  pending; `query_refund` asks the refund query, and re-sends the same out_refund_no only when
  WeChat Pay has no such refund).
- Queries (sync, the reconciler): the order query by out_trade_no; SUCCESS (or REFUND: paid,
  then refunded) is paid, CLOSED / REVOKED / PAYERROR failed, anything else still open.
- Closing an order closes the Native transaction; an already closed or unknown one is fine, a
  paid one cannot be closed (its notification credits the order) and is logged.

Every answer's signature is verified with the platform public key before it is believed.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

import structlog

from paystream.checkout.providers import (
    PaymentInstructions,
    PaymentLookup,
    PaymentRequest,
    PaymentState,
    ProviderError,
    ProviderUnavailable,
    RefundOutcome,
    RefundRequest,
    RefundStatus,
    SettlementLine,
)
from paystream.checkout.providers.wechatpay_client import (
    CloseResult,
    RefundState,
    WeChatPayApiError,
    WeChatPayClient,
)
from paystream.checkout.settlement.files import check_sha1, wechatpay_bill
from paystream.shared.events import Provider
from paystream.shared.money import Money
from paystream.shared.providers.alipay import CHINA_TZ
from paystream.shared.providers.wechatpay import (
    CURRENCY,
    OrderFacts,
    WeChatPayError,
    check_refundable_user,
    encode_attach,
    encode_out_refund_no,
    out_trade_no_for,
    parse_rfc3339,
)

log = structlog.get_logger(__name__)

NATIVE: Final = "wechat_pay_native"


class WeChatPayProvider:
    def __init__(
        self,
        *,
        api_base: str,
        mchid: str,
        appid: str,
        merchant_private_key: str,
        merchant_serial_no: str,
        platform_public_key: str,
        platform_public_key_id: str,
        notify_url: str,
        timeout_s: float = 10.0,
        max_retries: int = 2,
    ) -> None:
        self._notify_url = notify_url
        self._client = WeChatPayClient(
            api_base=api_base,
            mchid=mchid,
            appid=appid,
            merchant_serial_no=merchant_serial_no,
            merchant_private_key=merchant_private_key,
            platform_public_keys={platform_public_key_id: platform_public_key},
            timeout_s=timeout_s,
            max_retries=max_retries,
        )

    @property
    def name(self) -> Provider:
        return "wechatpay"

    @property
    def client(self) -> WeChatPayClient:
        return self._client

    def methods_for(self, currency: str) -> tuple[str, ...]:
        return (NATIVE,) if currency.upper() == CURRENCY else ()

    async def create_payment(self, req: PaymentRequest) -> PaymentInstructions:
        if req.payment_method != NATIVE:
            raise ProviderError(f"WeChat Pay does not offer {req.payment_method}")
        if req.amount.currency != CURRENCY:
            raise ProviderError(f"WeChat Pay Native takes CNY, not {req.amount.currency}")
        try:
            out_trade_no = out_trade_no_for(req.order_id)
            attach = encode_attach(
                OrderFacts(req.order_id, req.user_id, req.credits, req.package_id)
            )
            check_refundable_user(req.user_id)
            code_url = await self._client.native(
                out_trade_no=out_trade_no,
                description=req.package_name or req.package_id,
                total_fen=req.amount.minor,
                notify_url=self._notify_url,
                time_expire=req.expires_at,
                attach=attach,
            )
        except WeChatPayError as exc:
            raise ProviderError(f"WeChat Pay refused the order: {exc}") from exc
        return PaymentInstructions(session_id=out_trade_no, qr_code=code_url)

    async def refund(self, req: RefundRequest) -> RefundOutcome:
        out_refund_no, out_trade_no = self._refund_refs(req)
        try:
            refund = await self._client.refund(
                out_trade_no=out_trade_no,
                out_refund_no=out_refund_no,
                refund_fen=req.amount.minor,
                total_fen=req.payment_amount.minor,
                reason=req.reason,
                notify_url=self._notify_url,
            )
        except WeChatPayApiError as exc:
            # WeChat Pay looked at the request and said no: nothing was refunded.
            return RefundOutcome(
                RefundStatus.FAILED, out_refund_no, detail=f"{exc.api_code}: {exc.message}"
            )
        except WeChatPayError as exc:
            raise ProviderUnavailable(
                f"WeChat Pay refund not confirmed: {exc}", provider_refund_id=out_refund_no
            ) from exc
        return _refund_outcome(out_refund_no, refund.status)

    async def query_refund(self, req: RefundRequest) -> RefundOutcome:
        out_refund_no, _ = self._refund_refs(req)
        try:
            refund = await self._client.query_refund(out_refund_no)
        except WeChatPayApiError as exc:
            if exc.api_code == "RESOURCE_NOT_EXISTS":
                # The request never reached WeChat Pay: the same out_refund_no makes it once.
                return await self.refund(req)
            raise ProviderUnavailable(
                f"WeChat Pay refund query refused: {exc}", provider_refund_id=out_refund_no
            ) from exc
        except WeChatPayError as exc:
            raise ProviderUnavailable(
                f"WeChat Pay refund query unanswered: {exc}", provider_refund_id=out_refund_no
            ) from exc
        return _refund_outcome(out_refund_no, refund.status)

    def _refund_refs(self, req: RefundRequest) -> tuple[str, str]:
        if req.amount.currency != CURRENCY or req.payment_amount.currency != CURRENCY:
            raise ProviderError("WeChat Pay refunds are in CNY")
        try:
            out_refund_no = encode_out_refund_no(req.refund_id, req.user_id)
            out_trade_no = req.provider_session_id or out_trade_no_for(req.order_id)
        except WeChatPayError as exc:
            raise ProviderError(f"cannot refund through WeChat Pay: {exc}") from exc
        return out_refund_no, out_trade_no

    async def query_payment(self, session_id: str, payment_method: str) -> PaymentLookup:
        try:
            doc = await self._client.query(session_id)
        except WeChatPayApiError as exc:
            if exc.api_code == "ORDER_NOT_EXIST":
                return PaymentLookup(PaymentState.OPEN, status="ORDER_NOT_EXIST")
            raise ProviderUnavailable(f"WeChat Pay order query refused: {exc}") from exc
        except WeChatPayError as exc:
            raise ProviderUnavailable(f"WeChat Pay order query unanswered: {exc}") from exc
        return payment_lookup(doc)

    async def close(self, session_id: str, payment_method: str) -> None:
        try:
            result = await self._client.close(session_id)
        except WeChatPayApiError as exc:
            if exc.api_code == "ORDER_NOT_EXIST":
                return  # never reached WeChat Pay: nothing can be paid
            raise ProviderError(f"WeChat Pay did not close {session_id}: {exc}") from exc
        except WeChatPayError as exc:
            raise ProviderError(f"WeChat Pay did not close {session_id}: {exc}") from exc
        if result is CloseResult.ALREADY_PAID:
            # Too late to close: the payment notification credits the order (a payment for a
            # cancelled or expired order is credited, never ignored).
            log.warning("wechatpay_close_after_payment", out_trade_no=session_id)

    settlement_tz = CHINA_TZ

    async def settlement(self, day: date) -> list[SettlementLine]:
        """The trade bill of successful payments and the refund bill."""
        lines: list[SettlementLine] = []
        for bill_type in ("SUCCESS", "REFUND"):
            try:
                data, digest = await self._client.tradebill(day, bill_type)
            except WeChatPayApiError as exc:
                if exc.api_code == "NO_STATEMENT_EXIST":
                    continue  # nothing happened that day
                raise ProviderError(f"WeChat Pay refused the {bill_type} bill: {exc}") from exc
            except WeChatPayError as exc:
                raise ProviderUnavailable(f"WeChat Pay {bill_type} bill: {exc}") from exc
            check_sha1(data, digest)
            lines += wechatpay_bill(data)
        return lines

    async def aclose(self) -> None:
        await self._client.aclose()


_FAILED_STATES: Final = frozenset({"CLOSED", "REVOKED", "PAYERROR"})


def payment_lookup(doc: dict[str, Any]) -> PaymentLookup:
    """What a (verified) order query answer says about the payment (pure). The fields are the
    payment notification's resource, read the same way."""
    state = doc.get("trade_state")
    tx = doc.get("transaction_id")
    transaction_id = tx if isinstance(tx, str) and tx else None
    if state in ("SUCCESS", "REFUND"):
        amount = doc.get("amount")
        total = amount.get("total") if isinstance(amount, dict) else None
        currency = amount.get("currency", CURRENCY) if isinstance(amount, dict) else None
        if transaction_id is None or not isinstance(total, int) or isinstance(total, bool):
            raise ProviderError(f"WeChat Pay order query: a {state} order without its payment")
        if not isinstance(currency, str):
            raise ProviderError("WeChat Pay order query: no currency")
        return PaymentLookup(
            PaymentState.PAID,
            transaction_id,
            paid=Money(total, currency),
            at=parse_rfc3339(doc.get("success_time")),
            status=state,
        )
    if state in _FAILED_STATES:
        desc = doc.get("trade_state_desc")
        return PaymentLookup(
            PaymentState.FAILED,
            transaction_id,
            reason=f"{state}: {desc}" if isinstance(desc, str) and desc else str(state),
            status=str(state),
        )
    return PaymentLookup(
        PaymentState.OPEN, transaction_id, status=state if isinstance(state, str) else None
    )


def _refund_outcome(out_refund_no: str, status: str) -> RefundOutcome:
    if status == RefundState.SUCCESS:
        return RefundOutcome(RefundStatus.SUCCEEDED, out_refund_no)
    if status == RefundState.PROCESSING:
        return RefundOutcome(RefundStatus.PENDING, out_refund_no)
    return RefundOutcome(RefundStatus.FAILED, out_refund_no, detail=f"WeChat Pay refund {status}")
