"""The USDT (TRC20) watcher: finds the transfers to the deposit address, matches them to orders,
and publishes the payments.

Each poll reads TronGrid's confirmed TRC20 transfers to the deposit address, oldest first, from
a cursor kept in the database (re-reading a short overlap before it, since TronGrid's index may
lag the chain). A transaction is acted on only once `/walletsolidity` has it, i.e. its block is
irreversible; the poll stops at the first one that is not there yet and the next poll resumes
from it. Every transfer seen is recorded once (unique transaction id + event index) in
`usdt_transfers`, with its verdict, and a credited one enqueues `PaymentSucceededV1` to the
payments topic through the outbox in the same transaction: re-reading transfers (the overlap, a
restart, a second checkout replica) changes nothing.

Matching (`find_deposit` + `classify`): the amount names the order. A transfer belongs to the
newest deposit of exactly that amount asked before it was sent, if that deposit is still open
or was released less than `late_window` earlier; failing that, to such a deposit with the same
residue (an exchange took its fee off the amount, or the payer mistyped the whole part).

Policies (what an operator finds in `GET /v1/admin/usdt/transfers?status=`):

- matched: the exact amount, in time. Credited; the deposit's amount is released.
- late: the full amount, sent after the order expired or was cancelled. Money was taken, so it
  is credited (checkout allows expired/cancelled -> paid); flagged.
- overpaid: more than asked. Money >= price was taken: credited and flagged so the excess is
  paid back by hand (`usdt_credit_overpaid=false`: flagged only).
- underpaid: less than asked. Not credited; the deposit stays open (the payer may still send the
  exact amount); an operator refunds it or settles with the payer.
- duplicate: for an order a transfer already paid. Not credited (an order is paid once);
  an operator refunds it.
- unmatched: no deposit has that amount or residue. Recorded for an operator.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

import asyncpg
import structlog

from paystream.checkout.providers.usdt import (
    CURRENCY,
    Deposit,
    UsdtConfig,
    UsdtProvider,
    deposit_from_row,
    residue,
    usdt_config,
)
from paystream.checkout.usdt_trongrid import TronGridClient
from paystream.shared.db import Connection
from paystream.shared.events import Envelope, PaymentSucceededV1, deterministic_id, utcnow
from paystream.shared.money import Money, exponent
from paystream.shared.outbox import enqueue

if TYPE_CHECKING:
    from paystream.checkout.settings import CheckoutSettings

log = structlog.get_logger(__name__)

SOURCE: Final = "paystream/checkout/usdt-watcher"
PROVIDER: Final = "usdt_trc20"
# TronGrid serves at most this many rows for one time window; past it the window must move.
TRONGRID_WINDOW_CAP: Final = 1000
# Block time against our clock: a payer cannot pay before the deposit existed, give or take this.
CLOCK_SKEW: Final = timedelta(seconds=60)


class TransferStatus(StrEnum):
    MATCHED = "matched"
    OVERPAID = "overpaid"
    UNDERPAID = "underpaid"
    LATE = "late"
    DUPLICATE = "duplicate"
    UNMATCHED = "unmatched"


@dataclass(frozen=True, slots=True)
class Transfer:
    """One USDT Transfer event to the deposit address, as TronGrid listed it."""

    transaction_id: str
    event_index: int
    from_address: str
    to_address: str
    contract_address: str
    amount_minor: int
    block_timestamp_ms: int
    raw: dict[str, Any]

    @property
    def block_time(self) -> datetime:
        return datetime.fromtimestamp(self.block_timestamp_ms / 1000, tz=UTC)

    @property
    def payment_id(self) -> str:
        """The payment's id for checkout, ledger and invoicing: the transaction id, suffixed by
        the event index in the rare transaction that pays us more than once."""
        if self.event_index == 0:
            return self.transaction_id
        return f"{self.transaction_id}:{self.event_index}"


@dataclass(frozen=True, slots=True)
class DepositState:
    """What classification needs to know of the deposit a transfer was matched to."""

    amount_minor: int
    status: str  # open | paid | closed
    expires_at: datetime
    released_at: datetime | None


@dataclass(frozen=True, slots=True)
class Verdict:
    status: TransferStatus
    credited: bool
    note: str | None = None


# ---- pure: parsing and classification -------------------------------------------------------


def parse_transfers(
    rows: Sequence[dict[str, Any]], *, address: str, contract_address: str
) -> list[Transfer]:
    """The USDT transfers to `address` among TronGrid rows, in block order, with event indexes.

    TronGrid rows carry no event index: it is the position of the transfer among the
    transaction's transfers to us ordered by (from, value), stable however often it is re-read
    (the watcher only handles transactions whose every row it read).
    """
    by_tx: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if not _is_ours(row, address=address, contract_address=contract_address):
            continue
        by_tx.setdefault(str(row["transaction_id"]), []).append(row)
    out: list[Transfer] = []
    for txid, tx_rows in by_tx.items():
        ordered = sorted(tx_rows, key=lambda r: (str(r["from"]), int(r["value"])))
        for index, row in enumerate(ordered):
            out.append(
                Transfer(
                    transaction_id=txid,
                    event_index=index,
                    from_address=str(row["from"]),
                    to_address=str(row["to"]),
                    contract_address=contract_address,
                    amount_minor=int(row["value"]),
                    block_timestamp_ms=int(row["block_timestamp"]),
                    raw=row,
                )
            )
    out.sort(key=lambda t: (t.block_timestamp_ms, t.transaction_id, t.event_index))
    return out


def _is_ours(row: dict[str, Any], *, address: str, contract_address: str) -> bool:
    token = row.get("token_info")
    try:
        ok = (
            row.get("type") == "Transfer"
            and row.get("to") == address
            and isinstance(token, dict)
            and token.get("address") == contract_address
            # Micro-USDT: anything else is not the token we priced in.
            and int(token.get("decimals", -1)) == exponent(CURRENCY)
            and isinstance(row.get("transaction_id"), str)
            and int(row["value"]) >= 0
            and int(row["block_timestamp"]) > 0
            and isinstance(row.get("from"), str)
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok and row.get("to") == address:
        log.warning("usdt_transfer_row_ignored", row=row)
    return ok


def classify(
    amount_minor: int,
    at: datetime,
    deposit: DepositState | None,
    *,
    credit_overpaid: bool = True,
) -> Verdict:
    """What a transfer of `amount_minor` sent at `at` means for the deposit it matched."""
    if deposit is None:
        return Verdict(TransferStatus.UNMATCHED, False, "no deposit asked for this amount")
    if deposit.status == "paid":
        return Verdict(
            TransferStatus.DUPLICATE,
            False,
            "the order was already paid by another transfer: refund this one by hand",
        )
    late = at > deposit.expires_at or (
        deposit.status == "closed" and deposit.released_at is not None and at >= deposit.released_at
    )
    when = " after the order expired or was cancelled" if late else ""
    diff = amount_minor - deposit.amount_minor
    if diff < 0:
        short = Money(-diff, CURRENCY).format()
        return Verdict(
            TransferStatus.UNDERPAID,
            False,
            f"short by {short} USDT{when}: not credited; refund or settle by hand",
        )
    notes = []
    if late:
        notes.append(f"arrived{when}: credited")
    if diff > 0:
        excess = Money(diff, CURRENCY).format()
        if not credit_overpaid:
            return Verdict(
                TransferStatus.OVERPAID,
                False,
                f"overpaid by {excess} USDT{when}: not credited (usdt_credit_overpaid is off)",
            )
        notes.append(f"overpaid by {excess} USDT: pay the excess back by hand")
    status = (
        TransferStatus.LATE
        if late
        else (TransferStatus.OVERPAID if diff > 0 else TransferStatus.MATCHED)
    )
    return Verdict(status, True, "; ".join(notes) or None)


# ---- SQL ------------------------------------------------------------------------------------


async def find_deposit(conn: Connection, transfer: Transfer, config: UsdtConfig) -> Deposit | None:
    """The deposit this transfer pays (locked): exact amount first, then the same residue."""
    common = """
        AND created_at <= $3::timestamptz + $4::interval
        AND (released_at IS NULL OR released_at > $3::timestamptz - $5::interval)
        ORDER BY created_at DESC, id DESC
        LIMIT 1
        FOR UPDATE
    """
    row = await conn.fetchrow(
        "SELECT * FROM usdt_deposits WHERE address = $1 AND amount_minor = $2" + common,
        transfer.to_address,
        transfer.amount_minor,
        transfer.block_time,
        CLOCK_SKEW,
        config.late_window,
    )
    if row is None:
        modulus = config.modulus
        row = await conn.fetchrow(
            "SELECT * FROM usdt_deposits WHERE address = $1 AND modulus = $6 AND residue = $2"
            + common,
            transfer.to_address,
            residue(transfer.amount_minor, modulus),
            transfer.block_time,
            CLOCK_SKEW,
            config.late_window,
            modulus,
        )
    return None if row is None else deposit_from_row(row)


async def insert_transfer(
    conn: Connection,
    transfer: Transfer,
    *,
    verdict: Verdict,
    deposit: Deposit | None,
    block_number: int | None,
) -> bool:
    """Record the transfer; False when it was recorded before (nothing else may happen then)."""
    row = await conn.fetchrow(
        """
        INSERT INTO usdt_transfers (id, transaction_id, event_index, from_address, to_address,
                                    contract_address, amount_minor, block_number, block_timestamp,
                                    status, credited, deposit_id, order_id, expected_minor, note,
                                    raw)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        ON CONFLICT (transaction_id, event_index) DO NOTHING
        RETURNING id
        """,
        uuid.uuid4(),
        transfer.transaction_id,
        transfer.event_index,
        transfer.from_address,
        transfer.to_address,
        transfer.contract_address,
        transfer.amount_minor,
        block_number,
        transfer.block_time,
        verdict.status.value,
        verdict.credited,
        None if deposit is None else uuid.UUID(deposit.id),
        None if deposit is None else uuid.UUID(deposit.order_id),
        None if deposit is None else deposit.amount.minor,
        verdict.note,
        transfer.raw,
    )
    return row is not None


async def mark_paid(conn: Connection, deposit_id: str) -> None:
    """The deposit is paid: its amount is free (a late payment turns a closed deposit paid)."""
    await conn.execute(
        """
        UPDATE usdt_deposits
        SET status = 'paid', close_reason = 'paid', released_at = COALESCE(released_at, now())
        WHERE id = $1 AND status <> 'paid'
        """,
        uuid.UUID(deposit_id),
    )


async def recorded_events(conn: Connection, txids: Sequence[str]) -> set[tuple[str, int]]:
    rows = await conn.fetch(
        "SELECT transaction_id, event_index FROM usdt_transfers WHERE transaction_id = ANY($1)",
        list(txids),
    )
    return {(r["transaction_id"], r["event_index"]) for r in rows}


@dataclass(frozen=True, slots=True)
class Cursor:
    min_timestamp_ms: int
    # False while a backlog is read: the next poll starts at the cursor, not before it.
    caught_up: bool


async def get_cursor(conn: Connection, address: str, contract: str) -> Cursor | None:
    row = await conn.fetchrow(
        "SELECT min_timestamp_ms, caught_up FROM usdt_watch_cursors"
        " WHERE address = $1 AND contract_address = $2",
        address,
        contract,
    )
    return None if row is None else Cursor(row["min_timestamp_ms"], row["caught_up"])


async def advance_cursor(
    conn: Connection, address: str, contract: str, ts_ms: int, *, caught_up: bool | None
) -> None:
    """Move the cursor forward only: a slower replica's poll never moves it back.

    `caught_up=None` keeps the flag as it is."""
    await conn.execute(
        """
        INSERT INTO usdt_watch_cursors (address, contract_address, min_timestamp_ms, caught_up)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (address, contract_address) DO UPDATE
        SET min_timestamp_ms = GREATEST(usdt_watch_cursors.min_timestamp_ms,
                                        EXCLUDED.min_timestamp_ms),
            caught_up = CASE
                WHEN $5 AND EXCLUDED.min_timestamp_ms >= usdt_watch_cursors.min_timestamp_ms
                THEN EXCLUDED.caught_up ELSE usdt_watch_cursors.caught_up END,
            updated_at = now()
        """,
        address,
        contract,
        ts_ms,
        True if caught_up is None else caught_up,
        caught_up is not None,
    )


async def first_deposit_at(conn: Connection, address: str) -> datetime | None:
    value: datetime | None = await conn.fetchval(
        "SELECT min(created_at) FROM usdt_deposits WHERE address = $1", address
    )
    return value


# ---- the watcher ----------------------------------------------------------------------------


@dataclass
class PollResult:
    seen: int = 0  # transfers read (after filtering), including ones recorded before
    recorded: int = 0  # newly recorded
    credited: int = 0  # newly published as payments
    waiting: int = 0  # transactions not solidified yet (the poll stopped at the first)
    pages: int = 0


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _row_ts(row: dict[str, Any]) -> int:
    try:
        return int(row.get("block_timestamp", 0))
    except (TypeError, ValueError):
        return 0


class UsdtWatcher:
    """Polls TronGrid for USDT transfers to the deposit address and records / publishes them.

    `run_forever()` is the background task (it closes the client when it ends); `poll_once()` is
    one round, for tests and operators.
    """

    def __init__(self, pool: asyncpg.Pool, client: TronGridClient, config: UsdtConfig) -> None:
        self._pool = pool
        self._client = client
        self._config = config

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    result = await self.poll_once()
                    if result.recorded or result.waiting:
                        log.info(
                            "usdt_poll",
                            recorded=result.recorded,
                            credited=result.credited,
                            waiting=result.waiting,
                        )
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # TronGrid or the database is away: the cursor did not move, the next poll
                    # reads the same transfers again.
                    log.exception("usdt_poll_failed")
                await asyncio.sleep(self._config.poll_interval_s)
        finally:
            await self._client.aclose()

    async def _start_cursor(self) -> Cursor:
        cfg = self._config
        async with self._pool.acquire() as conn:
            cursor = await get_cursor(conn, cfg.deposit_address, cfg.contract_address)
            if cursor is not None:
                return cursor
            # First run: nothing before the first deposit can be a payment of ours.
            first = await first_deposit_at(conn, cfg.deposit_address)
            start = _ms((first or utcnow()) - CLOCK_SKEW)
            await advance_cursor(
                conn, cfg.deposit_address, cfg.contract_address, start, caught_up=True
            )
            cursor = await get_cursor(conn, cfg.deposit_address, cfg.contract_address)
            assert cursor is not None
            return cursor

    async def _advance(self, ts_ms: int, *, caught_up: bool | None) -> None:
        cfg = self._config
        async with self._pool.acquire() as conn:
            await advance_cursor(
                conn, cfg.deposit_address, cfg.contract_address, ts_ms, caught_up=caught_up
            )

    async def _read_window(self, since_ms: int, result: PollResult) -> tuple[list[Any], bool]:
        """The rows from `since_ms` on, following fingerprints; (rows, truncated)."""
        cfg = self._config
        rows: list[dict[str, Any]] = []
        fingerprint: str | None = None
        pages = 0
        while True:
            page = await self._client.trc20_transfers_to(
                cfg.deposit_address,
                contract_address=cfg.contract_address,
                min_timestamp_ms=since_ms,
                limit=cfg.page_size,
                fingerprint=fingerprint,
            )
            pages += 1
            result.pages += 1
            rows.extend(page.data)
            if len(rows) >= TRONGRID_WINDOW_CAP:
                # TronGrid may stop paging here without saying so: take it as truncated.
                return rows, True
            if page.fingerprint is None:
                return rows, False
            if pages >= cfg.max_pages_per_window:
                return rows, True
            fingerprint = page.fingerprint

    async def poll_once(self) -> PollResult:
        cfg = self._config
        result = PollResult()
        cursor = await self._start_cursor()
        overlap_ms = int(cfg.cursor_overlap.total_seconds() * 1000)
        since = (
            max(0, cursor.min_timestamp_ms - overlap_ms)
            if cursor.caught_up
            else cursor.min_timestamp_ms
        )

        # Windows that only re-read the overlap (ending before the cursor) are not counted:
        # an overlap holding more than a poll's windows must not keep the watcher from new rows.
        budget = cfg.max_windows_per_poll
        while budget > 0:
            rows, truncated = await self._read_window(since, result)
            stamps = [_row_ts(r) for r in rows]
            last_ts = max(stamps, default=0)
            transfers = parse_transfers(
                rows, address=cfg.deposit_address, contract_address=cfg.contract_address
            )
            if truncated:
                # The last block read may go on in the next window: leave it to that window,
                # which starts at its timestamp.
                if any(ts < last_ts for ts in stamps):
                    transfers = [t for t in transfers if t.block_timestamp_ms < last_ts]
                    window_end = last_ts
                else:
                    # One block alone fills the window: take what was read, and move on.
                    log.error("usdt_block_exceeds_trongrid_window", block_timestamp_ms=last_ts)
                    window_end = last_ts + 1
            else:
                window_end = last_ts + 1 if rows else cursor.min_timestamp_ms
            result.seen += len(transfers)
            if not await self._handle(transfers, result):
                return result  # waiting for a block to solidify; the cursor stopped before it
            await self._advance(window_end, caught_up=not truncated)
            if not truncated:
                return result
            if window_end > cursor.min_timestamp_ms:
                budget -= 1
            since = window_end
        return result

    async def _handle(self, transfers: list[Transfer], result: PollResult) -> bool:
        """Record the transfers, one transaction (of the chain, and of ours) at a time, oldest
        first. False when one is not solidified yet: the cursor is left at it."""
        cfg = self._config
        groups: dict[str, list[Transfer]] = {}
        for t in transfers:
            groups.setdefault(t.transaction_id, []).append(t)
        if not groups:
            return True
        async with self._pool.acquire() as conn:
            known = await recorded_events(conn, list(groups))
        for txid, group in groups.items():
            ts = group[0].block_timestamp_ms
            fresh = [t for t in group if (t.transaction_id, t.event_index) not in known]
            if not fresh:
                continue
            info = await self._client.solidified_transaction(txid)
            if info is None:
                # The next poll starts here, with the overlap: an older transfer the index
                # lists later is still read.
                result.waiting += 1
                log.info("usdt_transfer_not_solidified", transaction_id=txid, block_timestamp_ms=ts)
                await self._advance(ts, caught_up=None)
                return False
            if info.result not in (None, "SUCCESS"):
                # A reverted call moved no token; TronGrid should not list it at all.
                log.error("usdt_transfer_reverted", transaction_id=txid, result=info.result)
                continue
            async with self._pool.acquire() as conn, conn.transaction():
                for t in fresh:
                    recorded, credited = await self._record(conn, t, info.block_number)
                    result.recorded += recorded
                    result.credited += credited
                await advance_cursor(
                    conn, cfg.deposit_address, cfg.contract_address, ts, caught_up=None
                )
        return True

    async def _record(self, conn: Connection, t: Transfer, block_number: int) -> tuple[int, int]:
        cfg = self._config
        deposit = await find_deposit(conn, t, cfg)
        state = (
            None
            if deposit is None
            else DepositState(
                deposit.amount.minor, deposit.status, deposit.expires_at, deposit.released_at
            )
        )
        verdict = classify(t.amount_minor, t.block_time, state, credit_overpaid=cfg.credit_overpaid)
        if not await insert_transfer(
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
        await mark_paid(conn, deposit.id)
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
            id=deterministic_id(PROVIDER, t.payment_id, "payment"),
        )
        await enqueue(conn, deposit.user_id, envelope)
        return 1, 1


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
