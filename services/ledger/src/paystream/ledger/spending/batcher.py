"""Group commit for spends: the requests that arrive while a batch is in flight become the next
batch, executed as ONE transaction of set-based statements.

One transaction per spend cannot go faster than the database commits (each commit waits for its
WAL flush); a batch pays one commit for all of its spends. There is no fixed wait: an idle ledger
runs a batch of one at once; under load, batches grow to what arrived meanwhile. A batch that
meets a transient database error is retried whole; one that fails otherwise is re-run one spend
at a time, so a spend that fails on its own fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog
from prometheus_client import Histogram

from paystream.ledger.books import repository as books
from paystream.ledger.books.domain import Tx, spend_fingerprint
from paystream.ledger.books.repository import TransactionRow
from paystream.ledger.errors import IdempotencyKeyReused, InsufficientCredits
from paystream.ledger.journal import events
from paystream.ledger.lots import repository as lots_repo
from paystream.ledger.lots.domain import Allocator, Insufficient, Lot
from paystream.ledger.thresholds.domain import ThresholdState
from paystream.ledger.thresholds.service import after_change
from paystream.shared.clock import Clock
from paystream.shared.db import TRANSIENT_DB_ERRORS, Connection, transaction
from paystream.shared.errors import PaystreamError, ServiceUnavailable
from paystream.shared.outbox import enqueue_many

log = structlog.get_logger(__name__)

SPEND_BATCH_SIZE = Histogram(
    "paystream_ledger_spend_batch_size",
    "Spends per group-committed batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
SPEND_BATCH_SECONDS = Histogram(
    "paystream_ledger_spend_batch_seconds",
    "Time of one spend batch, from its first statement to its commit",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
)


@dataclass(frozen=True, slots=True)
class SpendRequest:
    user_id: str
    unit: str
    credits: int
    reason: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class SpendRecord:
    """A spend as answered: the same fields whether it was made now or replayed."""

    id: uuid.UUID
    user_id: str
    unit: str
    credits: int
    balance_after: int
    reason: str
    created_at: datetime
    lots: tuple[tuple[uuid.UUID, int], ...]

    @classmethod
    def of_tx(cls, tx: Tx) -> SpendRecord:
        return cls(
            tx.id, tx.user_id, tx.unit, tx.credits, tx.balance_after, tx.reason, tx.at, tx.lots
        )

    @classmethod
    def of_row(cls, r: TransactionRow) -> SpendRecord:
        return cls(
            r.id, r.user_id, r.unit, r.credits, r.balance_after, r.reason, r.created_at, r.lots
        )


@dataclass(frozen=True, slots=True)
class Spent:
    record: SpendRecord
    replayed: bool


Outcome = Spent | PaystreamError


async def spend_batch(
    conn: Connection, reqs: Sequence[SpendRequest], now: datetime
) -> list[Outcome]:
    """Apply spends in arrival order in the caller's transaction; one outcome per request.

    The users' live lots are locked first, in the one lock order, so everything below is
    serialized per user: concurrent batches cannot both spend the same credits, and a request
    racing another with the same key finds the winner's transaction and replays it. A refused
    spend writes nothing, so retrying its key later (after a top-up) is evaluated afresh.
    """
    pairs = sorted({(r.user_id, r.unit) for r in reqs})
    lots = await lots_repo.lock_live(conn, pairs, now)
    previous = await books.find_by_keys(
        conn, sorted({(r.user_id, r.idempotency_key) for r in reqs})
    )
    by_pair: dict[tuple[str, str], list[Lot]] = {p: [] for p in pairs}
    for lot in lots:
        by_pair[(lot.user_id, lot.unit)].append(lot)
    allocators = {p: Allocator(ls, now) for p, ls in by_pair.items()}

    outcomes: list[Outcome] = []
    txs: list[Tx] = []
    made: dict[tuple[str, str], tuple[str, SpendRecord]] = {}
    for r in reqs:
        request_hash = spend_fingerprint(r.credits, r.reason, r.unit)
        key = (r.user_id, r.idempotency_key)
        if key in previous or key in made:
            first_hash, record = (
                made[key]
                if key in made
                else (previous[key].request_hash or "", SpendRecord.of_row(previous[key]))
            )
            if first_hash != request_hash:
                outcomes.append(
                    IdempotencyKeyReused(
                        "this Idempotency-Key was used for a different spend request"
                    )
                )
            else:
                outcomes.append(Spent(record, replayed=True))
            continue
        allocator = allocators[(r.user_id, r.unit)]
        try:
            taken = allocator.take(r.credits)
        except Insufficient as exc:
            outcomes.append(
                InsufficientCredits(
                    f"balance {exc.available} is less than the {r.credits} credits requested",
                    details={"balance": exc.available, "requested": r.credits, "unit": r.unit},
                )
            )
            continue
        tx = Tx(
            id=uuid.uuid4(),
            kind="spend",
            user_id=r.user_id,
            unit=r.unit,
            credits=r.credits,
            balance_after=allocator.available,
            at=now,
            reason=r.reason,
            lots=taken,
            idempotency_key=r.idempotency_key,
            request_hash=request_hash,
        )
        txs.append(tx)
        record = SpendRecord.of_tx(tx)
        made[key] = (request_hash, record)
        outcomes.append(Spent(record, replayed=False))
    if txs:
        touched = sorted({(t.user_id, t.unit) for t in txs})
        states = await books.write_spends(conn, txs, now, touched)
        available = {p: allocators[p].available for p in touched}
        lows = await after_change(
            conn,
            available,
            now,
            states={p: ThresholdState(*v) for p, v in states.items()},
        )
        await enqueue_many(conn, [events.spent(t) for t in txs] + lows)
    return outcomes


class SpendBatcher:
    """Queues concurrent spend requests and runs them in batches (see the module docstring).

    `in_flight` batches may run at once (each on its own connection); one is usually enough,
    since a batch takes everything that queued while the previous one ran.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        *,
        max_batch: int = 512,
        in_flight: int = 1,
        on_commit: Callable[[], None] | None = None,
        attempts: int = 4,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(in_flight)
        self._on_commit = on_commit
        self._attempts = attempts
        self._queue: asyncio.Queue[tuple[SpendRequest, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.spends = 0

    async def spend(self, req: SpendRequest) -> Spent:
        fut: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((req, fut))
        outcome = await fut
        if isinstance(outcome, PaystreamError):
            raise outcome
        return outcome

    async def run(self) -> None:
        try:
            while True:
                await self._slots.acquire()
                first = await self._queue.get()
                batch = [first]
                while len(batch) < self._max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                task = asyncio.create_task(self._run(batch))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        finally:
            for task in list(self._running):
                task.cancel()
            # Whoever still waits learns that the ledger is stopping.
            while not self._queue.empty():
                _, fut = self._queue.get_nowait()
                if not fut.done():
                    fut.set_result(ServiceUnavailable("the ledger is stopping"))

    async def _run(self, batch: list[tuple[SpendRequest, asyncio.Future[Outcome]]]) -> None:
        try:
            await self._execute(batch)
        finally:
            self._slots.release()

    async def _execute(self, batch: list[tuple[SpendRequest, asyncio.Future[Outcome]]]) -> None:
        reqs = [r for r, _ in batch]
        outcomes: list[Outcome] | None = None
        started = time.perf_counter()
        for attempt in range(1, self._attempts + 1):
            try:
                async with transaction(self._pool) as conn:
                    outcomes = await spend_batch(conn, reqs, self._clock.now())
                break
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("spend_batch_retry", attempt=attempt, size=len(reqs), error=repr(exc))
                if attempt == self._attempts:
                    outcomes = [
                        ServiceUnavailable("the ledger database is unavailable") for _ in reqs
                    ]
                    break
                await asyncio.sleep(0.02 * 2**attempt)
            except Exception as exc:
                if len(batch) > 1:
                    # Something in the batch fails on its own: each spend alone, so only it
                    # fails (with the error it meets).
                    log.warning("spend_batch_failed_isolating", size=len(reqs), error=repr(exc))
                    for one in batch:
                        await self._execute([one])
                    return
                log.exception("spend_failed")
                outcomes = [PaystreamError("the spend could not be applied")]
                break
        assert outcomes is not None
        self.batches += 1
        self.spends += len(reqs)
        SPEND_BATCH_SIZE.observe(len(reqs))
        SPEND_BATCH_SECONDS.observe(time.perf_counter() - started)
        if self._on_commit is not None and any(
            isinstance(o, Spent) and not o.replayed for o in outcomes
        ):
            self._on_commit()
        for (_, fut), outcome in zip(batch, outcomes, strict=True):
            if not fut.done():
                fut.set_result(outcome)

    async def stop(self) -> None:
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError):
                await task
