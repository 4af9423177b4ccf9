"""The books, free of I/O: one `Tx` per thing that happens to a user's credits, the entries it
makes on lots and the double-entry postings it makes between accounts.

Every kind of transaction is described once here (`_EFFECTS`), and what a transaction writes is
derived from its kind, so the live paths and the restore from `ledger.events` write exactly the
same rows for the same facts.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import orjson

from paystream.shared.values import checked_frozen

ISSUANCE: Final = "system:issuance"
CONSUMPTION: Final = "system:consumption"
REFUNDS: Final = "system:refunds"
EXPIRY: Final = "system:expiry"
VOIDS: Final = "system:voids"

Kind = Literal[
    "grant", "adjustment", "spend", "hold", "capture", "release", "expire", "void", "revoke"
]
KINDS: Final[tuple[Kind, ...]] = (
    "grant",
    "adjustment",
    "spend",
    "hold",
    "capture",
    "release",
    "expire",
    "void",
    "revoke",
)


def user_account(user_id: str) -> str:
    return f"user:{user_id}"


@checked_frozen
class Posting:
    account_id: str
    amount: int


@checked_frozen
class Entry:
    """What one transaction did to one lot: `delta` to its remaining credits, `held_delta` to
    its held ones."""

    lot_id: uuid.UUID
    delta: int
    held_delta: int


@dataclass(frozen=True, slots=True)
class _Effect:
    # The system account the credits come from (+1: to the user) or go to (-1: from the user);
    # None for kinds that move nothing between accounts.
    account: str | None
    sign: int
    # Per credit moved on a lot: the change of its remaining and of its held credits.
    delta: int
    held: int


_EFFECTS: Final[Mapping[str, _Effect]] = {
    "grant": _Effect(ISSUANCE, +1, 0, 0),
    "adjustment": _Effect(ISSUANCE, +1, 0, 0),
    "spend": _Effect(CONSUMPTION, -1, -1, 0),
    "capture": _Effect(CONSUMPTION, -1, -1, -1),
    "hold": _Effect(None, 0, 0, +1),
    "release": _Effect(None, 0, 0, -1),
    "expire": _Effect(EXPIRY, -1, -1, 0),
    "void": _Effect(VOIDS, -1, -1, 0),
    "revoke": _Effect(REFUNDS, -1, -1, 0),
}


@checked_frozen
class Tx:
    """One transaction of the books, as written and as published.

    `credits` is always positive; the kind says which way they went. `lots` are the credits
    moved on each lot (empty for grants: a grant is its lot). `balance_after` is the user's
    available balance in the unit once it was applied.
    """

    id: uuid.UUID
    kind: Kind
    user_id: str
    unit: str
    credits: int
    balance_after: int
    at: datetime
    reason: str
    lots: tuple[tuple[uuid.UUID, int], ...] = ()
    order_id: str | None = None
    event_id: uuid.UUID | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    paid_minor: int | None = None
    paid_currency: str | None = None
    refund_key: str | None = None
    hold_id: uuid.UUID | None = None
    actor: str | None = None
    cost_minor: int | None = None
    cost_currency: str | None = None

    def __post_init__(self) -> None:
        if self.credits <= 0:
            raise ValueError(f"credits must be positive, got {self.credits}")
        if self.lots and sum(n for _, n in self.lots) != self.credits:
            raise ValueError(f"lots of {self.kind} {self.id} do not add up to {self.credits}")

    def postings(self) -> tuple[Posting, ...]:
        effect = _EFFECTS[self.kind]
        if effect.account is None:
            return ()
        n = effect.sign * self.credits
        return Posting(user_account(self.user_id), n), Posting(effect.account, -n)

    def entries(self) -> list[Entry]:
        effect = _EFFECTS[self.kind]
        return [Entry(lot, effect.delta * n, effect.held * n) for lot, n in self.lots]


def is_balanced(postings: Iterable[Posting]) -> bool:
    return sum(p.amount for p in postings) == 0


def lot_deltas(txs: Iterable[Tx]) -> dict[uuid.UUID, tuple[int, int]]:
    """Net (remaining, held) change per lot of a set of transactions: one update per lot."""
    out: dict[uuid.UUID, tuple[int, int]] = {}
    for tx in txs:
        for e in tx.entries():
            d, h = out.get(e.lot_id, (0, 0))
            out[e.lot_id] = (d + e.delta, h + e.held_delta)
    return out


def fingerprint(**fields: object) -> str:
    """What makes two requests "the same" for an idempotency key."""
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def spend_fingerprint(credits: int, reason: str, unit: str = "credits") -> str:
    # The unit joins the fingerprint only when it is not the default, so a key used for a spend
    # before units existed still matches the same request today.
    if unit == "credits":
        return fingerprint(credits=credits, reason=reason)
    return fingerprint(credits=credits, reason=reason, unit=unit)
