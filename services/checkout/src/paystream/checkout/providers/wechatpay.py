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
  its code; an unreachable or untrustworthy WeChat Pay is a ProviderError.
- Closing an order closes the Native transaction; an already closed or unknown one is fine, a
  paid one cannot be closed (its notification credits the order) and is logged.

Every answer's signature is verified with the platform public key before it is believed.
"""

from __future__ import annotations

from typing import Final

import structlog

from paystream.checkout.providers import (
    PaymentInstructions,
    PaymentRequest,
    ProviderError,
    RefundOutcome,
    RefundRequest,
    RefundStatus,
)
from paystream.checkout.providers.wechatpay_client import (
    CloseResult,
    RefundState,
    WeChatPayApiError,
    WeChatPayClient,
)
from paystream.shared.events import Provider
from paystream.shared.providers.wechatpay import (
    CURRENCY,
    OrderFacts,
    WeChatPayError,
    check_refundable_user,
    encode_attach,
    encode_out_refund_no,
    out_trade_no_for,
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
        if req.amount.currency != CURRENCY or req.payment_amount.currency != CURRENCY:
            raise ProviderError("WeChat Pay refunds are in CNY")
        try:
            out_refund_no = encode_out_refund_no(req.refund_id, req.user_id)
            out_trade_no = req.provider_session_id or out_trade_no_for(req.order_id)
        except WeChatPayError as exc:
            raise ProviderError(f"cannot refund through WeChat Pay: {exc}") from exc
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
            raise ProviderError(f"WeChat Pay refund not confirmed: {exc}") from exc
        if refund.status == RefundState.SUCCESS:
            return RefundOutcome(RefundStatus.SUCCEEDED, out_refund_no)
        if refund.status == RefundState.PROCESSING:
            return RefundOutcome(RefundStatus.PENDING, out_refund_no)
        return RefundOutcome(
            RefundStatus.FAILED, out_refund_no, detail=f"WeChat Pay refund {refund.status}"
        )

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

    async def aclose(self) -> None:
        await self._client.aclose()
