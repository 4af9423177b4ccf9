"""What checkout does with USDT: reserve a deposit's unique amount, release it, record the
transfers the watcher found (and publish the credited ones as payments), list them for operators.

Functions handed the pool own their transactions; `record_transfer` is handed the connection of
the transaction that records one chain transaction's transfers.

Reservations are race-free: the `usdt_deposits` partial unique indexes on the open amount and
residue decide, and an allocation that loses a race retries with another offset. A deposit is
released when a transfer pays it, when checkout closes it (the order was cancelled or expired),
or by the allocator when it stayed open long past its expiry. A released amount is never handed
out again while a late transfer for it could still arrive (the late window, or the cooldown if
longer), so a late payment for an expired order is not taken for a newer order's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final

import asyncpg
import structlog

from paystream.checkout.providers import PaymentRequest, ProviderError
from paystream.checkout.usdt import repository as repo
from paystream.checkout.usdt.domain import (
    CLOCK_SKEW,
    CURRENCY,
    PROVIDER,
    Cursor,
    Deposit,
    MatchWindow,
    RecordedTransfer,
    Transfer,
    TransferStatus,
    UsdtConfig,
    choose_offset,
    classify,
    match_deposit,
    residue,
)
from paystream.shared.db import Connection, transaction
from paystream.shared.events import Envelope, PaymentSucceededV1, payment_event_id, utcnow
from paystream.shared.money import Money
from paystream.shared.outbox import enqueue
from paystream.shared.pagination import KeysetCursor, keyset_page

log = structlog.get_logger(__name__)

SOURCE: Final = "paystream/checkout/usdt-watcher"
# Attempts at inserting a reservation before giving up; each lost race takes another offset.
_ALLOCATION_ATTEMPTS: Final = 20


class NoAmountAvailable(ProviderError):
    """Every offset is reserved by an open order: no unique amount can be handed out."""


# ---- deposits -------------------------------------------------------------------------------


async def reserve_deposit(pool: asyncpg.Pool, config: UsdtConfig, req: PaymentRequest) -> Deposit:
    """The order's deposit: the one it already has (a replay), or a new unique amount.

    One transaction per attempt: a lost race rolls back and the next attempt sees the winner.
    """
    order_id = uuid.UUID(req.order_id)
    modulus = config.modulus
    for _ in range(_ALLOCATION_ATTEMPTS):
        async with transaction(pool) as conn:
            existing = await repo.get_deposit_for_order(conn, order_id)
            if existing is not None:
                return existing
            reclaimed = await repo.reclaim_stale(
                conn, config.deposit_address, reclaim_after=config.reclaim_after
            )
            if reclaimed:
                log.warning("usdt_deposits_reclaimed", count=reclaimed)
            open_, cooling = await repo.reserved_residues(
                conn,
                config.deposit_address,
                modulus,
                cooldown=max(config.amount_cooldown, config.late_window),
            )
            offset = choose_offset(
                req.amount.minor,
                config.offset_max,
                open_residues=open_,
                cooling_residues=cooling,
            )
            if offset is None:
                raise NoAmountAvailable(
                    f"all {config.offset_max} USDT deposit amounts are reserved by open orders"
                    " or were released within the late window; raise usdt_amount_offset_max"
                    " or wait"
                )
            deposit = await repo.insert_deposit(
                conn,
                order_id=order_id,
                user_id=req.user_id,
                package_id=req.package_id,
                credits=req.credits,
                address=config.deposit_address,
                price_minor=req.amount.minor,
                offset_minor=offset,
                modulus=modulus,
                residue=residue(req.amount.minor + offset, modulus),
                expires_at=req.expires_at,
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


async def close_deposit(pool: asyncpg.Pool, deposit_id: uuid.UUID) -> bool:
    """The order was cancelled or expired: free its amount. False when it was not open."""
    async with transaction(pool) as conn:
        return await repo.release_deposit(conn, deposit_id, reason="closed")


async def payer_addresses(pool: asyncpg.Pool, order_id: uuid.UUID) -> list[str]:
    """Where the order's credited transfers came from (where a manual refund goes)."""
    async with pool.acquire() as conn:
        return await repo.payer_addresses(conn, order_id)


# ---- transfers ------------------------------------------------------------------------------


async def recorded_events(pool: asyncpg.Pool, txids: Sequence[str]) -> set[tuple[str, int]]:
    async with pool.acquire() as conn:
        return await repo.recorded_events(conn, txids)


async def record_chain_transaction(
    pool: asyncpg.Pool,
    config: UsdtConfig,
    transfers: Sequence[Transfer],
    *,
    block_number: int,
    block_timestamp_ms: int,
) -> tuple[int, int]:
    """Record one solidified chain transaction's transfers and move the cursor to it, in one
    transaction. Returns (recorded, credited)."""
    recorded = credited = 0
    async with transaction(pool) as conn:
        for t in transfers:
            r, c = await record_transfer(conn, config, t, block_number=block_number)
            recorded += r
            credited += c
        await repo.advance_cursor(
            conn,
            config.deposit_address,
            config.contract_address,
            block_timestamp_ms,
            caught_up=None,
        )
    return recorded, credited


async def record_transfer(
    conn: Connection, config: UsdtConfig, t: Transfer, *, block_number: int
) -> tuple[int, int]:
    """Match, classify and record one transfer; a credited one marks its deposit paid and
    enqueues PaymentSucceededV1. (1, 1) credited, (1, 0) recorded only, (0, 0) seen before."""
    deposit = await _locked_match(conn, config, t)
    verdict = classify(
        t.amount_minor,
        t.block_time,
        None if deposit is None else deposit.state(),
        credit_overpaid=config.credit_overpaid,
    )
    if not await repo.insert_transfer(
        conn, t, verdict=verdict, deposit=deposit, block_number=block_number
    ):
        return 0, 0  # recorded by an earlier poll or another replica
    log.info(
        "usdt_transfer_recorded",
        transaction_id=t.transaction_id,
        event_index=t.event_index,
        amount=Money(t.amount_minor, CURRENCY).format(),
        status=verdict.status.value,
        order_id=None if deposit is None else deposit.order_id,
    )
    if not verdict.credited:
        return 1, 0
    assert deposit is not None
    await repo.mark_paid(conn, deposit.id)
    payment = PaymentSucceededV1(
        order_id=deposit.order_id,
        user_id=deposit.user_id,
        package_id=deposit.package_id,
        credits=deposit.credits,
        amount_minor=t.amount_minor,
        currency=CURRENCY,
        provider=PROVIDER,
        provider_event_id=f"{t.transaction_id}:{t.event_index}",
        provider_payment_id=t.payment_id,
        provider_session_id=deposit.id,
        paid_at=t.block_time,
    )
    envelope = Envelope.wrap(
        payment,
        source=SOURCE,
        subject=deposit.order_id,
        id=payment_event_id("payment", PROVIDER, t.payment_id),
    )
    await enqueue(conn, deposit.user_id, envelope)
    return 1, 1


async def _locked_match(conn: Connection, config: UsdtConfig, t: Transfer) -> Deposit | None:
    """The deposit this transfer pays, locked and as it is now (a concurrent close or payment
    shows in its status)."""
    window = MatchWindow.of(t.block_time, config.late_window)
    modulus = config.modulus
    candidates = await repo.deposit_candidates(
        conn,
        t.to_address,
        amount_minor=t.amount_minor,
        modulus=modulus,
        residue=residue(t.amount_minor, modulus),
        window=window,
    )
    chosen = match_deposit(t.amount_minor, candidates, window, modulus=modulus)
    return None if chosen is None else await repo.lock_deposit(conn, chosen.id)


# ---- the watcher's cursor -------------------------------------------------------------------


async def start_cursor(pool: asyncpg.Pool, config: UsdtConfig) -> Cursor:
    """Where the watcher reads from; on the first run, just before the first deposit (nothing
    earlier can be a payment of ours)."""
    address, contract = config.deposit_address, config.contract_address
    async with transaction(pool) as conn:
        cursor = await repo.get_cursor(conn, address, contract)
        if cursor is not None:
            return cursor
        first = await repo.first_deposit_at(conn, address)
        start = int(((first or utcnow()) - CLOCK_SKEW).timestamp() * 1000)
        await repo.advance_cursor(conn, address, contract, start, caught_up=True)
        cursor = await repo.get_cursor(conn, address, contract)
    assert cursor is not None
    return cursor


async def advance_cursor(
    pool: asyncpg.Pool, config: UsdtConfig, ts_ms: int, *, caught_up: bool | None
) -> None:
    async with transaction(pool) as conn:
        await repo.advance_cursor(
            conn, config.deposit_address, config.contract_address, ts_ms, caught_up=caught_up
        )


# ---- operators ------------------------------------------------------------------------------


async def list_transfers(
    pool: asyncpg.Pool, *, status: TransferStatus | None, limit: int, cursor: str | None
) -> tuple[list[RecordedTransfer], str | None]:
    """A page of recorded transfers, newest seen first."""
    before = KeysetCursor.from_query(cursor)
    async with pool.acquire() as conn:
        rows = await repo.list_transfers(conn, status=status, before=before, limit=limit + 1)
    return keyset_page(rows, limit, lambda t: KeysetCursor(t.seen_at, uuid.UUID(t.id)))
