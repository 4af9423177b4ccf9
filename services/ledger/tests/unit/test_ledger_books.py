"""The books: what each kind of transaction posts between accounts and moves on lots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from paystream.ledger.books.domain import (
    CONSUMPTION,
    EXPIRY,
    ISSUANCE,
    KINDS,
    REFUNDS,
    VOIDS,
    Entry,
    Kind,
    Posting,
    Tx,
    fingerprint,
    is_balanced,
    lot_deltas,
    spend_fingerprint,
    user_account,
)

NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)
L1, L2 = uuid.uuid4(), uuid.uuid4()


def _tx(kind: Kind, credits: int, lots: tuple[tuple[uuid.UUID, int], ...] = ()) -> Tx:
    return Tx(
        id=uuid.uuid4(),
        kind=kind,
        user_id="alice",
        unit="credits",
        credits=credits,
        balance_after=0,
        at=NOW,
        reason="r",
        lots=lots,
    )


@pytest.mark.parametrize(
    ("kind", "account", "user_amount"),
    [
        ("grant", ISSUANCE, 100),
        ("adjustment", ISSUANCE, 100),
        ("spend", CONSUMPTION, -100),
        ("capture", CONSUMPTION, -100),
        ("expire", EXPIRY, -100),
        ("void", VOIDS, -100),
        ("revoke", REFUNDS, -100),
    ],
)
def test_each_kind_posts_double_entry_between_the_user_and_its_system_account(
    kind: Kind, account: str, user_amount: int
) -> None:
    lots = () if kind in ("grant", "adjustment") else ((L1, 100),)
    postings = _tx(kind, 100, lots).postings()
    assert postings == (Posting("user:alice", user_amount), Posting(account, -user_amount))
    assert is_balanced(postings)


@pytest.mark.parametrize("kind", ["hold", "release"])
def test_holds_and_releases_move_nothing_between_accounts(kind: Kind) -> None:
    assert _tx(kind, 5, ((L1, 5),)).postings() == ()


def test_entries_move_remaining_and_held_credits_by_kind() -> None:
    lots = ((L1, 30), (L2, 20))
    assert _tx("spend", 50, lots).entries() == [Entry(L1, -30, 0), Entry(L2, -20, 0)]
    assert _tx("hold", 50, lots).entries() == [Entry(L1, 0, 30), Entry(L2, 0, 20)]
    assert _tx("capture", 50, lots).entries() == [Entry(L1, -30, -30), Entry(L2, -20, -20)]
    assert _tx("release", 50, lots).entries() == [Entry(L1, 0, -30), Entry(L2, 0, -20)]
    for kind in ("expire", "void", "revoke"):
        assert _tx(kind, 50, lots).entries() == [Entry(L1, -30, 0), Entry(L2, -20, 0)]
    assert _tx("grant", 50).entries() == []
    assert set(KINDS) == {
        "grant", "adjustment", "spend", "hold", "capture", "release", "expire", "void", "revoke"
    }  # fmt: skip


def test_a_transaction_is_positive_and_its_lots_add_up() -> None:
    for credits in (0, -5):
        with pytest.raises(ValueError, match="positive"):
            _tx("spend", credits)
    with pytest.raises(ValueError, match="add up"):
        _tx("spend", 10, ((L1, 4), (L2, 5)))


def test_lot_deltas_net_a_batch_per_lot() -> None:
    txs = [
        _tx("spend", 10, ((L1, 10),)),
        _tx("hold", 5, ((L1, 3), (L2, 2))),
        _tx("capture", 3, ((L1, 3),)),
        _tx("spend", 1, ((L2, 1),)),
    ]
    assert lot_deltas(txs) == {L1: (-13, 0), L2: (-1, 2)}


def test_unbalanced_postings_are_detected() -> None:
    assert not is_balanced([Posting("user:a", 10), Posting(ISSUANCE, -9)])
    assert is_balanced([])


def test_user_account_id() -> None:
    assert user_account("u-1") == "user:u-1"


def test_spend_fingerprint_identifies_the_request_body() -> None:
    assert spend_fingerprint(30, "image") == spend_fingerprint(30, "image")
    assert spend_fingerprint(30, "image") != spend_fingerprint(31, "image")
    assert spend_fingerprint(30, "image") != spend_fingerprint(30, "video")
    assert spend_fingerprint(30, "image") != spend_fingerprint(30, "image", "receives")
    # The default unit keeps the fingerprint of keys used before units existed.
    assert spend_fingerprint(30, "image", "credits") == fingerprint(credits=30, reason="image")
