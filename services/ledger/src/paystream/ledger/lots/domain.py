"""Lots, free of I/O: when a lot counts, the one consumption order, allocating a spend or a hold
over a user's lots, validity rules, and what a balance shows.

A lot counts (is *live*) while `effective_at <= now < expires_at` (no expiry: from
`effective_at` on). At the exact second of `expires_at` it no longer counts: a balance, a spend
or a hold never sees an expired lot, whether or not the expiry job has written its entry yet.

The consumption order, the same everywhere: priority (lower first), then the soonest
`expires_at` (no expiry last), then free credits before paid ones, then the oldest
(`effective_at`), then the lot id so two runs always agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from paystream.shared.clock import InvalidDuration, add_duration, parse_duration
from paystream.shared.values import checked_frozen

_NEVER: Final = datetime.max.replace(tzinfo=UTC)


@checked_frozen
class Lot:
    """What allocating and showing a balance need of a lot."""

    id: uuid.UUID
    user_id: str
    unit: str
    credits: int
    remaining: int
    held: int
    effective_at: datetime
    expires_at: datetime | None
    priority: int
    cost_minor: int

    @property
    def available(self) -> int:
        return self.remaining - self.held

    def is_live(self, at: datetime) -> bool:
        return self.effective_at <= at and (self.expires_at is None or at < self.expires_at)


def consumption_key(lot: Lot) -> tuple[int, bool, datetime, bool, datetime, uuid.UUID]:
    return (
        lot.priority,
        lot.expires_at is None,
        lot.expires_at or _NEVER,
        lot.cost_minor > 0,
        lot.effective_at,
        lot.id,
    )


def consumption_order(lots: Iterable[Lot]) -> list[Lot]:
    return sorted(lots, key=consumption_key)


class Insufficient(Exception):
    """Fewer credits available than asked for; `available` says how many there are."""

    def __init__(self, available: int, requested: int) -> None:
        super().__init__(f"{available} available, {requested} requested")
        self.available = available
        self.requested = requested


class Allocator:
    """The live lots of one user and unit at one moment, in consumption order, consumed by
    successive takes (a batch's spends of one user apply in arrival order)."""

    def __init__(self, lots: Iterable[Lot], at: datetime) -> None:
        self._order = [lot for lot in consumption_order(lots) if lot.is_live(at)]
        self._left = {lot.id: lot.available for lot in self._order}

    @property
    def available(self) -> int:
        return sum(self._left.values())

    def take(self, credits: int) -> tuple[tuple[uuid.UUID, int], ...]:
        """Take `credits` in consumption order: (lot id, credits) per lot touched. Nothing is
        taken when there are not enough (Insufficient)."""
        if credits <= 0:
            raise ValueError(f"credits must be positive, got {credits}")
        available = self.available
        if available < credits:
            raise Insufficient(available, credits)
        out: list[tuple[uuid.UUID, int]] = []
        need = credits
        for lot in self._order:
            left = self._left[lot.id]
            if left <= 0:
                continue
            n = min(left, need)
            self._left[lot.id] = left - n
            out.append((lot.id, n))
            need -= n
            if need == 0:
                break
        return tuple(out)


def take_back(
    order_lots: Sequence[Lot], other_lots: Sequence[Lot], due: int, at: datetime
) -> tuple[tuple[tuple[uuid.UUID, int], ...], int]:
    """What a refund revokes: from the refunded order's own lots first, then from the user's
    other lots of the unit, both in consumption order, only credits that are available (live,
    not held). Returns (taken per lot, shortfall)."""
    taken: list[tuple[uuid.UUID, int]] = []
    need = due
    for group in (order_lots, other_lots):
        allocator = Allocator(group, at)
        n = min(need, allocator.available)
        if n > 0:
            taken += allocator.take(n)
            need -= n
    return tuple(taken), need


def split_capture(
    allocations: Sequence[tuple[uuid.UUID, int]], credits: int
) -> tuple[tuple[tuple[uuid.UUID, int], ...], tuple[tuple[uuid.UUID, int], ...]]:
    """A capture of `credits` from a hold's allocations (in the order the hold took them):
    (captured per lot, released per lot). The hold's first lots are consumed first, as a spend
    would have consumed them."""
    held = sum(n for _, n in allocations)
    if not 0 <= credits <= held:
        raise ValueError(f"capture of {credits} outside 0..{held}")
    captured: list[tuple[uuid.UUID, int]] = []
    released: list[tuple[uuid.UUID, int]] = []
    need = credits
    for lot_id, n in allocations:
        c = min(n, need)
        need -= c
        if c:
            captured.append((lot_id, c))
        if n - c:
            released.append((lot_id, n - c))
    return tuple(captured), tuple(released)


@dataclass(frozen=True, slots=True)
class UnitBalance:
    unit: str
    available: int
    held: int
    next_expiry_credits: int
    next_expiry_at: datetime | None


def balance_of(unit: str, lots: Iterable[Lot], at: datetime) -> UnitBalance:
    """A unit's balance at `at`: available (live, not held), held (reserved by open holds, even
    on a lot that expired since: a hold keeps its credits until its own time runs out), and the
    next expiry (the soonest expires_at of live lots with credits available, and how many)."""
    available = held = 0
    soonest: datetime | None = None
    soonest_credits = 0
    for lot in lots:
        held += lot.held
        if not lot.is_live(at) or lot.available <= 0:
            continue
        available += lot.available
        if lot.expires_at is None:
            continue
        if soonest is None or lot.expires_at < soonest:
            soonest, soonest_credits = lot.expires_at, lot.available
        elif lot.expires_at == soonest:
            soonest_credits += lot.available
    return UnitBalance(unit, available, held, soonest_credits, soonest)


class InvalidValidity(ValueError):
    """A validity that is neither an ISO 8601 duration nor a usable end."""


NO_EXPIRY: Final = "none"
FIXED: Final = "fixed"


def carry_of(cap: int, left: int) -> int:
    """What a plan's rollover carries into the next period: what the ended period's allowance
    left unused, up to the plan's cap."""
    if cap < 0 or left < 0:
        raise ValueError(f"cap {cap} and leftover {left} cannot be negative")
    return min(cap, left)


def expiry_of(
    start: datetime, *, validity: str | None, expires_at: datetime | None
) -> tuple[datetime | None, str]:
    """When a lot starting at `start` expires, and the rule recorded on the lot: a duration
    (`P6M`: calendar months, clamped to the month's end), a fixed end, or none."""
    if validity is not None and expires_at is not None:
        raise InvalidValidity("give a validity or an expiry, not both")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidValidity("an expiry needs a timezone")
        if expires_at <= start:
            raise InvalidValidity(f"expiry {expires_at.isoformat()} is not after the start")
        return expires_at, FIXED
    if validity is None or validity == NO_EXPIRY:
        return None, NO_EXPIRY
    try:
        duration = parse_duration(validity)
    except InvalidDuration as exc:
        raise InvalidValidity(str(exc)) from None
    return add_duration(start, duration), validity
