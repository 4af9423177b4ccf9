"""USDT on TRON (TRC20) as a `PaymentProvider`: deposit instructions with a unique exact amount.

Opening a payment reserves the deposit's amount (`service.reserve_deposit`), closing it releases
the amount; the payment itself is found on chain by the watcher. Refunds are paid out by hand by
an operator (RefundStatus.MANUAL).
"""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from paystream.checkout.providers import (
    PaymentInstructions,
    PaymentLookup,
    PaymentRequest,
    PaymentState,
    ProviderError,
    RefundOutcome,
    RefundRequest,
    RefundStatus,
)
from paystream.checkout.usdt import service
from paystream.checkout.usdt.domain import CURRENCY, METHOD, UsdtConfig
from paystream.shared.events import Provider

log = structlog.get_logger(__name__)


class UsdtProvider:
    """`PaymentProvider` for `usdt_trc20`. Needs checkout's pool: the reservation is a row."""

    def __init__(self, pool: asyncpg.Pool, config: UsdtConfig) -> None:
        self._pool = pool
        self._config = config

    @property
    def name(self) -> Provider:
        return "usdt_trc20"

    def methods_for(self, currency: str) -> tuple[str, ...]:
        return (METHOD,) if currency.upper() == CURRENCY else ()

    async def create_payment(self, req: PaymentRequest) -> PaymentInstructions:
        if req.amount.currency != CURRENCY:
            raise ProviderError(f"usdt_trc20 takes USDT prices, not {req.amount.currency}")
        if not req.amount.is_positive():
            raise ProviderError("a USDT deposit needs a positive price")
        _order_uuid(req.order_id)
        deposit = await service.reserve_deposit(self._pool, self._config, req)
        return PaymentInstructions(
            session_id=deposit.id,
            deposit_address=deposit.address,
            deposit_amount=deposit.amount,
        )

    async def refund(self, req: RefundRequest) -> RefundOutcome:
        # TRC20 has no refund: an operator sends the USDT back from the merchant wallet.
        payers = await service.payer_addresses(self._pool, _order_uuid(req.order_id))
        to = ", ".join(payers) if payers else "the payer's address (no credited transfer found)"
        return RefundOutcome(
            status=RefundStatus.MANUAL,
            provider_refund_id=req.refund_id,
            detail=f"pay {req.amount} back by hand to {to}",
        )

    async def query_payment(self, session_id: str, payment_method: str) -> PaymentLookup:
        # Nobody to ask: the watcher reads the chain and announces what it finds itself, so the
        # order already shows the watcher's view.
        return PaymentLookup(PaymentState.OPEN, status="watched")

    async def query_refund(self, req: RefundRequest) -> RefundOutcome:
        # Paid out by hand; only an operator's confirmation settles it.
        return RefundOutcome(RefundStatus.MANUAL, provider_refund_id=req.refund_id)

    async def close(self, session_id: str, payment_method: str) -> None:
        try:
            deposit_id = uuid.UUID(session_id)
        except ValueError:
            log.warning("usdt_close_unknown_deposit", session_id=session_id)
            return
        released = await service.close_deposit(self._pool, deposit_id)
        log.info("usdt_deposit_closed", deposit_id=session_id, released=released)

    async def aclose(self) -> None:
        return None  # the pool is checkout's


def _order_uuid(order_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(order_id)
    except ValueError:
        raise ProviderError(f"order id {order_id!r} is not a UUID") from None
