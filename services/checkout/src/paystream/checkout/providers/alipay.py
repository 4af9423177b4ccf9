"""Alipay as a payment provider: QR code (当面付 precreate) and the web cashier (page.pay).

Two payment methods, CNY only (Alipay's domestic acquiring settles in yuan):

- `alipay_qr`: alipay.trade.precreate; the frontend shows `qr_code` (a `https://qr.alipay.com/...`
  string) for the buyer to scan with the Alipay app.
- `alipay_page`: alipay.trade.page.pay; `payment_url` is the signed gateway URL the frontend
  redirects to (built locally, no call to Alipay until the buyer's browser goes there).

The Alipay trade is keyed by OUR order: out_trade_no = the order id (a UUID's 32 hex digits;
Alipay allows letters, digits and `_`), which is also the `session_id` checkout stores. The order
facts travel in `passback_params` and come back in every notification. The trade's lifetime is
the order's: `time_expire` (absolute, Beijing time) and, for precreate, `timeout_express`.

Refunds: alipay.trade.refund with out_request_no = our refund id (so the provider refund id IS
our refund id, and the notification's out_biz_no names it). Alipay answers synchronously:
fund_change "Y" means money moved in this call. "N" is also what a REPEATED out_request_no
answers (a retry after a crash), so then the refund is looked up (fastpay.refund.query):
REFUND_SUCCESS is success, anything else pending (the notification, or a later query, tells).
Only a signed refusal (an AlipayApiError) is Alipay's word that it did not refund; no answer, a
5xx or an answer that does not verify is ProviderUnavailable: the refund stays pending and the
reconciler asks again (`query_refund`: fastpay.refund.query, then, if Alipay has no record of
it, the same out_request_no again, which Alipay never refunds twice).

Queries (sync, the reconciler): alipay.trade.query; a trade Alipay does not know (a QR code never
scanned) is still open.

Closing: alipay.trade.close. A precreate trade exists at Alipay only once the buyer scanned the
code, so "trade does not exist" is normal and not an error; nor is a trade already closed or
already paid (a payment that won the race is credited, never undone here). Note that closing a
never-scanned QR trade cannot stop a later scan before `time_expire`: such a late payment is
credited like any other.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Final

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
from paystream.checkout.providers.alipay_client import (
    AlipayApiError,
    AlipayClient,
    CloseOutcome,
    TradeQueryResult,
)
from paystream.checkout.settlement.files import alipay_bill
from paystream.shared.events import Provider
from paystream.shared.providers import alipay as ali

log = structlog.get_logger(__name__)

QR: Final = "alipay_qr"
PAGE: Final = "alipay_page"
METHODS: Final = (QR, PAGE)
_SUBJECT_MAX: Final = 256


def order_facts(req: PaymentRequest) -> ali.OrderFacts:
    return ali.OrderFacts(
        order_id=req.order_id,
        user_id=req.user_id,
        credits=req.credits,
        package_id=req.package_id,
    )


def subject_of(req: PaymentRequest) -> str:
    # Alipay refuses `/`, `=` and `&` in a subject ("不可使用特殊字符").
    subject = " ".join(re.sub(r"[/=&]", " ", req.package_name).split()) or req.package_id
    return subject[:_SUBJECT_MAX]


class AlipayProvider:
    """`PaymentProvider` for `alipay_qr` and `alipay_page`."""

    def __init__(
        self,
        *,
        gateway_url: str,
        app_id: str,
        private_key: str,
        alipay_public_key: str,
        notify_url: str,
        timeout_s: float = 10.0,
        max_retries: int = 2,
    ) -> None:
        self._client = AlipayClient(
            gateway_url=gateway_url,
            app_id=app_id,
            private_key=private_key,
            alipay_public_key=alipay_public_key,
            timeout_s=timeout_s,
            max_retries=max_retries,
        )
        self._notify_url = notify_url

    @property
    def name(self) -> Provider:
        return "alipay"

    def methods_for(self, currency: str) -> tuple[str, ...]:
        return METHODS if currency.upper() == ali.CURRENCY else ()

    async def create_payment(self, req: PaymentRequest) -> PaymentInstructions:
        if req.payment_method not in METHODS:
            raise ProviderError(f"Alipay does not serve payment method {req.payment_method!r}")
        if req.amount.currency != ali.CURRENCY:
            raise ProviderError(f"Alipay takes CNY only, not {req.amount.currency}")
        try:
            out_trade_no = ali.out_trade_no_for(req.order_id)
            passback = ali.encode_passback(order_facts(req))
        except ValueError as exc:
            raise ProviderError(f"order {req.order_id} cannot be paid with Alipay: {exc}") from None
        subject = subject_of(req)
        if req.payment_method == PAGE:
            url = self._client.page_pay_url(
                out_trade_no=out_trade_no,
                total_amount=req.amount,
                subject=subject,
                notify_url=self._notify_url,
                return_url=req.return_url,
                passback_params=passback,
                time_expire=req.expires_at,
            )
            return PaymentInstructions(session_id=out_trade_no, payment_url=url)
        try:
            qr = await self._client.precreate(
                out_trade_no=out_trade_no,
                total_amount=req.amount,
                subject=subject,
                notify_url=self._notify_url,
                passback_params=passback,
                time_expire=req.expires_at,
                now=datetime.now(UTC),
            )
        except ali.AlipayError as exc:
            raise _refused("alipay_precreate_failed", exc, order_id=req.order_id) from exc
        return PaymentInstructions(session_id=out_trade_no, qr_code=qr)

    async def refund(self, req: RefundRequest) -> RefundOutcome:
        out_trade_no = self._out_trade_no(req)
        try:
            result = await self._client.refund(
                out_trade_no=out_trade_no,
                refund_amount=req.amount,
                out_request_no=req.refund_id,
                reason=req.reason or None,
            )
            if result.fund_change:
                return RefundOutcome(RefundStatus.SUCCEEDED, provider_refund_id=req.refund_id)
            # No money moved in THIS call: a repeat of a refund already made, or one Alipay is
            # still processing. Its own record says which.
            found = await self._client.refund_query(
                out_trade_no=out_trade_no, out_request_no=req.refund_id
            )
        except ali.AlipayError as exc:
            raise _refused("alipay_refund_failed", exc, refund_id=req.refund_id) from exc
        if found.succeeded:
            return RefundOutcome(RefundStatus.SUCCEEDED, provider_refund_id=req.refund_id)
        return RefundOutcome(
            RefundStatus.PENDING,
            provider_refund_id=req.refund_id,
            detail="Alipay accepted the refund without moving funds yet (fund_change N)",
        )

    async def query_refund(self, req: RefundRequest) -> RefundOutcome:
        out_trade_no = self._out_trade_no(req)
        try:
            found = await self._client.refund_query(
                out_trade_no=out_trade_no, out_request_no=req.refund_id
            )
        except ali.AlipayError as exc:
            raise _refused("alipay_refund_query_failed", exc, refund_id=req.refund_id) from exc
        if found.succeeded:
            return RefundOutcome(RefundStatus.SUCCEEDED, provider_refund_id=req.refund_id)
        # No refund_status: Alipay did not receive the request or did not refund. The same
        # out_request_no again either refunds now (once) or is refused for good.
        return await self.refund(req)

    def _out_trade_no(self, req: RefundRequest) -> str:
        if req.amount.currency != ali.CURRENCY:
            raise ProviderError(f"Alipay refunds CNY only, not {req.amount.currency}")
        if req.provider_session_id:
            return req.provider_session_id
        try:
            return ali.out_trade_no_for(req.order_id)
        except ValueError as exc:
            raise ProviderError(str(exc)) from None

    async def query_payment(self, session_id: str, payment_method: str) -> PaymentLookup:
        try:
            trade = await self._client.query(out_trade_no=session_id)
        except AlipayApiError as exc:
            if exc.signed and exc.sub_code == ali.TRADE_NOT_EXIST:
                # A QR code nobody scanned yet: the trade exists only once it is.
                return PaymentLookup(PaymentState.OPEN, status="TRADE_NOT_EXIST")
            raise _refused("alipay_query_failed", exc, out_trade_no=session_id) from exc
        except ali.AlipayError as exc:
            raise _refused("alipay_query_failed", exc, out_trade_no=session_id) from exc
        return payment_lookup(trade)

    async def close(self, session_id: str, payment_method: str) -> None:
        try:
            outcome = await self._client.close(out_trade_no=session_id)
        except ali.AlipayError as exc:
            raise _refused("alipay_close_failed", exc, out_trade_no=session_id) from exc
        if outcome is not CloseOutcome.CLOSED:
            log.info("alipay_trade_already_closed", out_trade_no=session_id, outcome=outcome.value)

    settlement_tz = ali.CHINA_TZ

    async def settlement(self, day: date) -> list[SettlementLine]:
        try:
            url = await self._client.bill_download_url(day)
            if url is None:
                return []
            data = await self._client.download(url)
        except ali.AlipayError as exc:
            raise _refused("alipay_bill_failed", exc, bill_date=day.isoformat()) from exc
        return alipay_bill(data)

    async def aclose(self) -> None:
        await self._client.aclose()


def payment_lookup(trade: TradeQueryResult) -> PaymentLookup:
    """What an alipay.trade.query answer says about the payment (pure)."""
    status = trade.trade_status
    paid_at = trade.raw.get("send_pay_date")
    at = None
    if isinstance(paid_at, str) and paid_at:
        try:
            at = ali.parse_time(paid_at)
        except ValueError:
            at = None
    # A trade closed after payment was refunded in full: it was paid all the same.
    if status in (ali.TRADE_SUCCESS, ali.TRADE_FINISHED) or (
        status == ali.TRADE_CLOSED and at is not None
    ):
        if trade.trade_no is None or trade.total_amount is None:
            raise ProviderError(f"alipay.trade.query: a {status} trade without trade_no or amount")
        return PaymentLookup(
            PaymentState.PAID, trade.trade_no, paid=trade.total_amount, at=at, status=status
        )
    if status == ali.TRADE_CLOSED:
        return PaymentLookup(
            PaymentState.FAILED,
            trade.trade_no,
            reason="TRADE_CLOSED: the trade was closed unpaid "
            "(timed out or closed by the merchant)",
            status=status,
        )
    return PaymentLookup(PaymentState.OPEN, trade.trade_no, status=status or None)


def _refused(event: str, exc: ali.AlipayError, **fields: str) -> ProviderError:
    if isinstance(exc, AlipayApiError):
        log.warning(event, **fields, code=exc.code, sub_code=exc.sub_code, sub_msg=exc.sub_msg)
        what = f"{exc.code} {exc.sub_code or ''} {exc.sub_msg or exc.msg or ''}".strip()
        return ProviderError(f"Alipay refused {exc.method}: {what}")
    log.warning(event, **fields, error=type(exc).__name__, message=str(exc))
    # Unreachable, 5xx, or an answer that does not verify: whether Alipay acted is unknown.
    return ProviderUnavailable(
        f"Alipay did not answer believably: {type(exc).__name__}: {exc}",
        provider_refund_id=fields.get("refund_id"),
    )
