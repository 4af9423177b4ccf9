"""`paystream refunds unmatched` on a checkout database migrated by checkout's own migrations:
open reports listed (exit 1), resolved ones only with --all, none open is exit 0."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from paystream.checkout.settings import CheckoutSettings

pytestmark = pytest.mark.integration

FreshDatabase = Callable[..., Awaitable[str]]
CliCall = Callable[..., Awaitable[tuple[int, object]]]

_INSERT = """
INSERT INTO unmatched_refunds (id, provider, provider_refund_id, provider_payment_id, order_ref,
    user_id, amount_minor, refunded_total_minor, currency, reason, refunded_at, resolved_at)
VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9, $10, $11)
"""


async def test_unmatched_refunds_are_listed_until_resolved(
    cli: CliCall,
    fresh_database: FreshDatabase,
    pool_for: Callable[[str], Awaitable[asyncpg.Pool]],
) -> None:
    dsn = await fresh_database("cli_refunds", CheckoutSettings().migrations_dir)
    pool = await pool_for(dsn)
    code, out = await cli("refunds", "unmatched", "--checkout-db", dsn)
    assert (code, out) == (0, {"items": [], "open": 0})

    at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    await pool.execute(
        _INSERT, uuid.uuid4(), "stripe", "re_1", "pi_nobody", None, 1234, None, "USD",
        "no order holds the payment pi_nobody", at, None,
    )  # fmt: skip
    await pool.execute(
        _INSERT, uuid.uuid4(), "alipay", "dash-1", "2026120422001", "o-1", None, 5000, "CNY",
        "its own amount is not known", at, None,
    )  # fmt: skip
    await pool.execute(
        _INSERT, uuid.uuid4(), "stripe", "re_done", "pi_x", None, 100, None, "EUR",
        "no order holds the payment pi_x", at, at,
    )  # fmt: skip

    code, out = await cli("refunds", "unmatched", "--checkout-db", dsn)
    assert code == 1
    assert isinstance(out, dict)
    assert out["open"] == 2
    by_id = {i["provider_refund_id"]: i for i in out["items"]}
    assert set(by_id) == {"re_1", "dash-1"}
    assert (by_id["re_1"]["amount"], by_id["re_1"]["refunded_total"]) == ("12.34 USD", None)
    assert (by_id["dash-1"]["amount"], by_id["dash-1"]["refunded_total"]) == (None, "50.00 CNY")
    assert by_id["dash-1"]["order_id"] == "o-1"

    code, out = await cli("refunds", "unmatched", "--checkout-db", dsn, "--all")
    assert code == 1
    assert isinstance(out, dict)
    assert len(out["items"]) == 3

    await pool.execute("UPDATE unmatched_refunds SET resolved_at = now()")
    code, out = await cli("refunds", "unmatched", "--checkout-db", dsn)
    assert (code, out) == (0, {"items": [], "open": 0})
