"""USDT on TRON (TRC20) as a payment provider: deposit instructions with a unique exact amount.

A TRC20 transfer carries no reference we could set, so the amount is the reference: an order
priced at 14.00 USDT is asked to send 14.000123 USDT, the offset (1..`offset_max` micro-USDT)
chosen so that no other open deposit has the same amount, nor the same residue (the amount
modulo the offset's decimal span, 1000 for offsets up to 999). The residue still names the order
when an exchange took its withdrawal fee off the amount (13.000123 USDT arrives: underpaid, for
that order), see `paystream.checkout.usdt_watcher`.

The allocation is race-free: the `usdt_deposits` partial unique indexes on the open amount and
residue decide, an allocation that loses a race retries with another offset. A deposit is
released (its amount free again) when a transfer pays it (the watcher), when checkout closes it
(order cancelled or expired: `close`), or by the allocator when it stayed open long past its
expiry. A released amount is not handed out again during a cooldown while others are free, so a
late payment for an expired order is not taken for a newer order's.

Refunds are paid out by hand by an operator (RefundStatus.MANUAL).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import asyncpg
import structlog

from paystream.checkout.providers import (
    PaymentInstructions,
    PaymentRequest,
    ProviderError,
    RefundOutcome,
    RefundRequest,
    RefundStatus,
)
from paystream.shared.db import Connection
from paystream.shared.events import Provider
from paystream.shared.money import Money

if TYPE_CHECKING:
    from paystream.checkout.settings import CheckoutSettings

log = structlog.get_logger(__name__)

METHOD: Final = "usdt_trc20"
CURRENCY: Final = "USDT"
USDT_TRC20_CONTRACT: Final = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"

# Attempts at inserting a reservation before giving up; each lost race takes another offset.
_ALLOCATION_ATTEMPTS: Final = 20


class NoAmountAvailable(ProviderError):
    """Every offset is reserved by an open order: no unique amount can be handed out."""


@dataclass(frozen=True, slots=True)
class UsdtConfig:
    """What the provider and the watcher share; built from settings by `usdt_config`."""

    deposit_address: str
    contract_address: str = USDT_TRC20_CONTRACT
    offset_max: int = 999
    amount_cooldown: timedelta = timedelta(days=1)
    late_window: timedelta = timedelta(days=7)
    reclaim_after: timedelta = timedelta(days=1)
    poll_interval_s: float = 15.0
    page_size: int = 200
    cursor_overlap: timedelta = timedelta(minutes=2)
    credit_overpaid: bool = True
    # TronGrid pages at most 1000 rows per time window (5 pages of 200); past that the watcher
    # moves the window. A poll reads this many windows at most, the next poll goes on.
    max_pages_per_window: int = 5
    max_windows_per_poll: int = 10

    @property
    def modulus(self) -> int:
        return amount_modulus(self.offset_max)


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


# ---- allocation arithmetic (pure) -----------------------------------------------------------


def amount_modulus(offset_max: int) -> int:
    """The decimal span of the offsets: 1000 for 1..999 micro-USDT, 10000 for 1..9999."""
    if offset_max < 1:
        raise ValueError("offset_max must be at least 1")
    modulus: int = 10 ** len(str(offset_max))
    return modulus


def residue(amount_minor: int, modulus: int) -> int:
    return amount_minor % modulus


def free_offsets(price_minor: int, offset_max: int, taken_residues: Collection[int]) -> list[int]:
    """Offsets 1..offset_max whose amount's residue no reserved deposit holds.

    Distinct offsets below the modulus give distinct residues, so a free residue is a free
    amount too, whatever the other deposits' prices.
    """
    modulus = amount_modulus(offset_max)
    return [
        o for o in range(1, offset_max + 1) if (price_minor + o) % modulus not in taken_residues
    ]


def choose_offset(
    price_minor: int,
    offset_max: int,
    *,
    open_residues: Collection[int],
    cooling_residues: Collection[int],
    rng: random.Random | None = None,
) -> int | None:
    """A random free offset, avoiding amounts released recently while others are free.

    Random rather than the smallest so that concurrent allocations rarely collide (and a payer
    cannot guess another order's amount). None when every residue is open.
    """
    rng = rng or _RNG
    fresh = free_offsets(price_minor, offset_max, set(open_residues) | set(cooling_residues))
    if fresh:
        return rng.choice(fresh)
    free = free_offsets(price_minor, offset_max, set(open_residues))
    return rng.choice(free) if free else None


_RNG = random.SystemRandom()


# ---- deposits (SQL) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deposit:
    id: str
    order_id: str
    user_id: str
    package_id: str | None
    credits: int
    address: str
    price: Money
    amount: Money
    offset_minor: int
    residue: int
    modulus: int
    expires_at: datetime
    status: str
    released_at: datetime | None


def deposit_from_row(row: asyncpg.Record) -> Deposit:
    return Deposit(
        id=str(row["id"]),
        order_id=str(row["order_id"]),
        user_id=row["user_id"],
        package_id=row["package_id"],
        credits=row["credits"],
        address=row["address"],
        price=Money(row["price_minor"], row["currency"]),
        amount=Money(row["amount_minor"], row["currency"]),
        offset_minor=row["offset_minor"],
        residue=row["residue"],
        modulus=row["modulus"],
        expires_at=row["expires_at"],
        status=row["status"],
        released_at=row["released_at"],
    )


async def reclaim_stale(conn: Connection, address: str, *, reclaim_after: timedelta) -> int:
    """Release open deposits long past their expiry (checkout never closed them)."""
    result: str = await conn.execute(
        """
        UPDATE usdt_deposits SET status = 'closed', close_reason = 'reclaimed', released_at = now()
        WHERE address = $1 AND status = 'open' AND expires_at < now() - $2::interval
        """,
        address,
        reclaim_after,
    )
    return int(result.split()[-1])


async def reserved_residues(
    conn: Connection, address: str, modulus: int, *, cooldown: timedelta
) -> tuple[set[int], set[int]]:
    """(residues of open deposits, residues of deposits released within the cooldown)."""
    rows = await conn.fetch(
        """
        SELECT residue, status = 'open' AS open FROM usdt_deposits
        WHERE address = $1 AND modulus = $2
          AND (status = 'open' OR released_at > now() - $3::interval)
        """,
        address,
        modulus,
        cooldown,
    )
    open_ = {r["residue"] for r in rows if r["open"]}
    cooling = {r["residue"] for r in rows if not r["open"]}
    return open_, cooling


async def get_deposit_for_order(conn: Connection, order_id: uuid.UUID) -> Deposit | None:
    row = await conn.fetchrow("SELECT * FROM usdt_deposits WHERE order_id = $1", order_id)
    return None if row is None else deposit_from_row(row)


async def insert_deposit(
    conn: Connection,
    *,
    req: PaymentRequest,
    address: str,
    offset_minor: int,
    modulus: int,
) -> Deposit | None:
    """Reserve `price + offset`; None when an open deposit holds that amount or residue, or
    the order already has its deposit (the caller tells which)."""
    amount = req.amount.minor + offset_minor
    row = await conn.fetchrow(
        """
        INSERT INTO usdt_deposits (id, order_id, user_id, package_id, credits, address,
                                   price_minor, offset_minor, amount_minor, modulus, residue,
                                   expires_at, status)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open')
        ON CONFLICT DO NOTHING
        RETURNING *
        """,
        uuid.uuid4(),
        uuid.UUID(req.order_id),
        req.user_id,
        req.package_id,
        req.credits,
        address,
        req.amount.minor,
        offset_minor,
        amount,
        modulus,
        residue(amount, modulus),
        req.expires_at,
    )
    return None if row is None else deposit_from_row(row)


async def release_deposit(conn: Connection, deposit_id: uuid.UUID, *, reason: str) -> bool:
    """Free an open deposit's amount; False when it was not open."""
    status = "paid" if reason == "paid" else "closed"
    result: str = await conn.execute(
        """
        UPDATE usdt_deposits SET status = $2, close_reason = $3, released_at = now()
        WHERE id = $1 AND status = 'open'
        """,
        deposit_id,
        status,
        reason,
    )
    return result.endswith(" 1")


async def payer_addresses(conn: Connection, order_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT from_address FROM usdt_transfers WHERE order_id = $1 AND credited"
        " ORDER BY from_address",
        order_id,
    )
    return [r["from_address"] for r in rows]


# ---- the provider ---------------------------------------------------------------------------


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
        try:
            order_id = uuid.UUID(req.order_id)
        except ValueError:
            raise ProviderError(f"order id {req.order_id!r} is not a UUID") from None
        deposit = await self._allocate(req, order_id)
        return PaymentInstructions(
            session_id=deposit.id,
            deposit_address=deposit.address,
            deposit_amount=deposit.amount,
        )

    async def _allocate(self, req: PaymentRequest, order_id: uuid.UUID) -> Deposit:
        cfg = self._config
        modulus = cfg.modulus
        async with self._pool.acquire() as conn:
            for _ in range(_ALLOCATION_ATTEMPTS):
                async with conn.transaction():
                    # A replay of the order (same order id) gets the deposit it already has.
                    existing = await get_deposit_for_order(conn, order_id)
                    if existing is not None:
                        return existing
                    reclaimed = await reclaim_stale(
                        conn, cfg.deposit_address, reclaim_after=cfg.reclaim_after
                    )
                    if reclaimed:
                        log.warning("usdt_deposits_reclaimed", count=reclaimed)
                    open_, cooling = await reserved_residues(
                        conn, cfg.deposit_address, modulus, cooldown=cfg.amount_cooldown
                    )
                    offset = choose_offset(
                        req.amount.minor,
                        cfg.offset_max,
                        open_residues=open_,
                        cooling_residues=cooling,
                    )
                    if offset is None:
                        raise NoAmountAvailable(
                            f"all {cfg.offset_max} USDT deposit amounts are reserved by open"
                            " orders; raise usdt_amount_offset_max or wait for orders to close"
                        )
                    deposit = await insert_deposit(
                        conn,
                        req=req,
                        address=cfg.deposit_address,
                        offset_minor=offset,
                        modulus=modulus,
                    )
                if deposit is not None:
                    log.info(
                        "usdt_deposit_reserved",
                        order_id=req.order_id,
                        deposit_id=deposit.id,
                        amount=deposit.amount.format(),
                    )
                    return deposit
                # Lost a race for this amount (or the order's own deposit appeared): go again.
        raise NoAmountAvailable("could not reserve a unique USDT amount; too much contention")

    async def refund(self, req: RefundRequest) -> RefundOutcome:
        # TRC20 has no refund: an operator sends the USDT back from the merchant wallet.
        try:
            order_id = uuid.UUID(req.order_id)
        except ValueError:
            raise ProviderError(f"order id {req.order_id!r} is not a UUID") from None
        async with self._pool.acquire() as conn:
            payers = await payer_addresses(conn, order_id)
        to = ", ".join(payers) if payers else "the payer's address (no credited transfer found)"
        return RefundOutcome(
            status=RefundStatus.MANUAL,
            provider_refund_id=req.refund_id,
            detail=f"pay {req.amount} back by hand to {to}",
        )

    async def close(self, session_id: str, payment_method: str) -> None:
        try:
            deposit_id = uuid.UUID(session_id)
        except ValueError:
            log.warning("usdt_close_unknown_deposit", session_id=session_id)
            return
        async with self._pool.acquire() as conn:
            released = await release_deposit(conn, deposit_id, reason="closed")
        log.info("usdt_deposit_closed", deposit_id=session_id, released=released)

    async def aclose(self) -> None:
        return None  # the pool is checkout's
