"""The ledger's model, free of I/O: accounts, balanced postings, grants, balance sequencing.

Double entry: every transaction moves credits between accounts with postings that sum to zero.
A grant moves credits from `system:issuance` to the user; a spend moves them from the user to
`system:consumption`. So the sum of all balances is always zero, and `-balance(system:issuance)`
is every credit ever granted.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import orjson

ISSUANCE = "system:issuance"
CONSUMPTION = "system:consumption"
GRANT_REASON = "purchase"


def user_account(user_id: str) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True, slots=True)
class Posting:
    account_id: str
    amount: int


def grant_postings(user_id: str, credits: int) -> tuple[Posting, Posting]:
    _require_positive(credits)
    return Posting(user_account(user_id), credits), Posting(ISSUANCE, -credits)


def spend_postings(user_id: str, credits: int) -> tuple[Posting, Posting]:
    _require_positive(credits)
    return Posting(user_account(user_id), -credits), Posting(CONSUMPTION, credits)


def is_balanced(postings: Iterable[Posting]) -> bool:
    return sum(p.amount for p in postings) == 0


def balance_deltas(postings: Iterable[Posting]) -> dict[str, int]:
    """Net change per account of a set of postings (one balance update per account)."""
    deltas: dict[str, int] = {}
    for p in postings:
        deltas[p.account_id] = deltas.get(p.account_id, 0) + p.amount
    return deltas


@dataclass(frozen=True, slots=True)
class Grant:
    """Credits owed for one paid order, as announced by one payment event."""

    event_id: uuid.UUID
    order_id: str
    user_id: str
    credits: int


def first_grant_per_order(grants: Iterable[Grant]) -> list[Grant]:
    """Keep the first grant of each order, in order: one payment often arrives as several
    provider events (Stripe: checkout.session.completed, then payment_intent.succeeded)."""
    seen: set[str] = set()
    out: list[Grant] = []
    for g in grants:
        if g.order_id not in seen:
            seen.add(g.order_id)
            out.append(g)
    return out


def sequence_balances(grants: Sequence[Grant], final_balances: Mapping[str, int]) -> list[int]:
    """The balance after each grant, given each user account's balance after all of them.

    Grants are applied in the given (record) order, so a user's last grant ends at the final
    balance and each earlier one at that minus the credits of the grants after it.
    """
    running = {user_account(g.user_id): final_balances[user_account(g.user_id)] for g in grants}
    after = [0] * len(grants)
    for i in range(len(grants) - 1, -1, -1):
        account = user_account(grants[i].user_id)
        after[i] = running[account]
        running[account] -= grants[i].credits
    return after


def spend_fingerprint(credits: int, reason: str) -> str:
    """What makes two spend requests "the same" for an idempotency key."""
    canonical = orjson.dumps({"credits": credits, "reason": reason}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _require_positive(credits: int) -> None:
    if credits <= 0:
        raise ValueError(f"credits must be positive, got {credits}")
