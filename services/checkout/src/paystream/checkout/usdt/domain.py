"""USDT on TRON (TRC20): the pure rules. No I/O here.

A TRC20 transfer carries no reference we could set, so the amount is the reference: an order
priced at 14.00 USDT is asked to send 14.000123 USDT, the offset (1..`offset_max` micro-USDT)
chosen so that no other open deposit has the same amount, nor the same residue (the amount
modulo the offset's decimal span, 1000 for offsets up to 999). The residue still names the order
when an exchange took its withdrawal fee off the amount.

- Amount choice: `free_offsets`, `choose_offset`.
- Reading TronGrid's rows: `parse_transfers`.
- Matching: `match_deposit`. A transfer pays the newest deposit of exactly its amount asked
  before it was sent, if that deposit is still open or was released less than `late_window`
  earlier; failing that, such a deposit with the same residue.
- What the transfer means for that deposit: `classify` (the verdicts are tabled in checkout's
  README: matched, late, overpaid, underpaid, duplicate, unmatched).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

import structlog

from paystream.shared.money import Money, exponent

log = structlog.get_logger(__name__)

METHOD: Final = "usdt_trc20"
PROVIDER: Final = "usdt_trc20"
CURRENCY: Final = "USDT"
USDT_TRC20_CONTRACT: Final = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
# Block time against our clock: a payer cannot pay before the deposit existed, give or take this.
CLOCK_SKEW: Final = timedelta(seconds=60)


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


# ---- amount choice --------------------------------------------------------------------------


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
    """A random offset whose amount is neither open nor cooling (released less than the late
    window ago: a late transfer for it could still arrive and would be taken for the new order's
    payment). None when there is none: the order cannot be paid in USDT now.

    Random rather than the smallest so that concurrent allocations rarely collide (and a payer
    cannot guess another order's amount).
    """
    rng = rng or _RNG
    fresh = free_offsets(price_minor, offset_max, set(open_residues) | set(cooling_residues))
    return rng.choice(fresh) if fresh else None


_RNG = random.SystemRandom()


# ---- deposits and transfers -----------------------------------------------------------------


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
    status: str  # open | paid | closed
    released_at: datetime | None
    created_at: datetime

    def state(self) -> DepositState:
        return DepositState(self.amount.minor, self.status, self.expires_at, self.released_at)


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


# ---- reading TronGrid's rows ----------------------------------------------------------------


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


# ---- matching and classification ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchWindow:
    """Which deposits a transfer sent at one moment can pay."""

    # A deposit asked after this cannot be what was paid.
    created_by: datetime
    # A deposit released before this was released too long before the transfer to be its order.
    released_after: datetime

    @classmethod
    def of(cls, sent_at: datetime, late_window: timedelta) -> MatchWindow:
        return cls(created_by=sent_at + CLOCK_SKEW, released_after=sent_at - late_window)

    def admits(self, deposit: Deposit) -> bool:
        return deposit.created_at <= self.created_by and (
            deposit.released_at is None or deposit.released_at > self.released_after
        )


def match_deposit(
    amount_minor: int, candidates: Sequence[Deposit], window: MatchWindow, *, modulus: int
) -> Deposit | None:
    """The deposit a transfer of `amount_minor` pays: the newest one of exactly that amount in
    the window; failing that, the newest one with that residue (an exchange took its fee)."""
    admitted = sorted(
        (d for d in candidates if window.admits(d)),
        key=lambda d: (d.created_at, d.id),
        reverse=True,
    )
    exact = next((d for d in admitted if d.amount.minor == amount_minor), None)
    if exact is not None:
        return exact
    wanted = residue(amount_minor, modulus)
    return next((d for d in admitted if d.modulus == modulus and d.residue == wanted), None)


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


@dataclass(frozen=True, slots=True)
class Cursor:
    min_timestamp_ms: int
    # False while a backlog is read: the next poll starts at the cursor, not before it.
    caught_up: bool


@dataclass(frozen=True, slots=True)
class RecordedTransfer:
    """A transfer the watcher recorded, with its verdict (what operators list)."""

    id: str
    transaction_id: str
    event_index: int
    from_address: str
    to_address: str
    amount: Money
    # What the matched deposit asked for (None when unmatched).
    expected: Money | None
    status: TransferStatus
    credited: bool
    order_id: str | None
    deposit_id: str | None
    block_number: int | None
    block_timestamp: datetime
    note: str | None
    seen_at: datetime
