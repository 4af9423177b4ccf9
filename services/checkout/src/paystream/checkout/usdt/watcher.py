"""The USDT (TRC20) watcher: polls TronGrid for the transfers to the deposit address and hands
each solidified one to `service.record_chain_transaction`.

Each poll reads TronGrid's confirmed TRC20 transfers to the deposit address, oldest first, from
a cursor kept in the database (re-reading a short overlap before it, since TronGrid's index may
lag the chain). A transaction is acted on only once `/walletsolidity` has it, i.e. its block is
irreversible; the poll stops at the first one that is not there yet and the next poll resumes
from it. Recording is idempotent (unique transaction id + event index), so re-reading transfers
(the overlap, a restart, a second checkout replica) changes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

import asyncpg
import structlog

from paystream.checkout.usdt import service
from paystream.checkout.usdt.domain import Transfer, UsdtConfig, parse_transfers
from paystream.checkout.usdt.trongrid import TronGridClient

log = structlog.get_logger(__name__)

# TronGrid serves at most this many rows for one time window; past it the window must move.
TRONGRID_WINDOW_CAP: Final = 1000


@dataclass
class PollResult:
    seen: int = 0  # transfers read (after filtering), including ones recorded before
    recorded: int = 0  # newly recorded
    credited: int = 0  # newly published as payments
    waiting: int = 0  # transactions not solidified yet (the poll stopped at the first)
    pages: int = 0


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

    async def _advance(self, ts_ms: int, *, caught_up: bool | None) -> None:
        await service.advance_cursor(self._pool, self._config, ts_ms, caught_up=caught_up)

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
        cursor = await service.start_cursor(self._pool, cfg)
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
        groups: dict[str, list[Transfer]] = {}
        for t in transfers:
            groups.setdefault(t.transaction_id, []).append(t)
        if not groups:
            return True
        known = await service.recorded_events(self._pool, list(groups))
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
            recorded, credited = await service.record_chain_transaction(
                self._pool,
                self._config,
                fresh,
                block_number=info.block_number,
                block_timestamp_ms=ts,
            )
            result.recorded += recorded
            result.credited += credited
        return True
