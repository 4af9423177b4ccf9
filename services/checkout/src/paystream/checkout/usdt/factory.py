"""Build the USDT provider and its watcher from checkout's settings (when a deposit address is
set)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import asyncpg

from paystream.checkout.usdt.domain import UsdtConfig
from paystream.checkout.usdt.provider import UsdtProvider
from paystream.checkout.usdt.trongrid import TronGridClient
from paystream.checkout.usdt.watcher import UsdtWatcher

if TYPE_CHECKING:
    from paystream.checkout.settings import CheckoutSettings


def usdt_config(settings: CheckoutSettings) -> UsdtConfig | None:
    """The USDT configuration, or None when no deposit address is set (usdt_trc20 not offered)."""
    if not settings.usdt_deposit_address:
        return None
    return UsdtConfig(
        deposit_address=settings.usdt_deposit_address,
        contract_address=settings.usdt_contract_address,
        offset_max=settings.usdt_amount_offset_max,
        amount_cooldown=timedelta(seconds=settings.usdt_amount_cooldown_s),
        late_window=timedelta(seconds=settings.usdt_late_window_s),
        reclaim_after=timedelta(seconds=settings.usdt_reclaim_after_s),
        poll_interval_s=settings.usdt_poll_interval_s,
        page_size=settings.usdt_page_size,
        cursor_overlap=timedelta(seconds=settings.usdt_cursor_overlap_s),
        credit_overpaid=settings.usdt_credit_overpaid,
    )


def build_usdt(
    settings: CheckoutSettings, pool: asyncpg.Pool
) -> tuple[UsdtProvider, UsdtWatcher] | None:
    """The provider and its watcher from checkout's settings; None when USDT is not configured."""
    config = usdt_config(settings)
    if config is None:
        return None
    client = TronGridClient(
        settings.usdt_api_base,
        api_key=None if settings.usdt_api_key is None else settings.usdt_api_key.get_secret_value(),
        timeout_s=settings.usdt_timeout_s,
    )
    return UsdtProvider(pool, config), UsdtWatcher(pool, client, config)
