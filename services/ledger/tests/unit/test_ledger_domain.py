"""The ledger's pure model: balanced postings, one grant per order, balance sequencing."""

from __future__ import annotations

import uuid

import pytest

from paystream.ledger.domain import (
    CONSUMPTION,
    ISSUANCE,
    Grant,
    Posting,
    balance_deltas,
    first_grant_per_order,
    grant_postings,
    is_balanced,
    sequence_balances,
    spend_fingerprint,
    spend_postings,
    user_account,
)


def _grant(order: str, user: str, credits: int) -> Grant:
    return Grant(uuid.uuid4(), order, user, credits, credits * 10, "CNY")


def test_grant_moves_credits_from_issuance_to_the_user() -> None:
    postings = grant_postings("alice", 1100)
    assert postings == (Posting("user:alice", 1100), Posting(ISSUANCE, -1100))
    assert is_balanced(postings)


def test_spend_moves_credits_from_the_user_to_consumption() -> None:
    postings = spend_postings("alice", 30)
    assert postings == (Posting("user:alice", -30), Posting(CONSUMPTION, 30))
    assert is_balanced(postings)


@pytest.mark.parametrize("credits", [0, -5])
def test_postings_refuse_non_positive_credits(credits: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        grant_postings("alice", credits)
    with pytest.raises(ValueError, match="positive"):
        spend_postings("alice", credits)


def test_unbalanced_postings_are_detected() -> None:
    assert not is_balanced([Posting("user:a", 10), Posting(ISSUANCE, -9)])
    assert is_balanced([])


def test_deltas_of_many_transactions_sum_to_zero_and_net_per_account() -> None:
    postings = [
        *grant_postings("a", 100),
        *grant_postings("b", 50),
        *grant_postings("a", 20),
        *spend_postings("a", 70),
    ]
    deltas = balance_deltas(postings)
    assert deltas == {"user:a": 50, "user:b": 50, ISSUANCE: -170, CONSUMPTION: 70}
    assert sum(deltas.values()) == 0


def test_user_account_id() -> None:
    assert user_account("u-1") == "user:u-1"


def test_first_grant_per_order_keeps_the_first_in_record_order() -> None:
    a1, b, a2, c = (
        _grant("o1", "u", 10),
        _grant("o2", "u", 20),
        _grant("o1", "u", 99),
        _grant("o3", "v", 5),
    )
    assert first_grant_per_order([a1, b, a2, c]) == [a1, b, c]


def test_balance_after_follows_record_order_within_each_user() -> None:
    grants = [
        _grant("o1", "alice", 100),
        _grant("o2", "bob", 7),
        _grant("o3", "alice", 20),
        _grant("o4", "alice", 3),
        _grant("o5", "bob", 1),
    ]
    # alice had 1000 before the batch, bob nothing: the final balances include the batch.
    final = {"user:alice": 1123, "user:bob": 8}
    assert sequence_balances(grants, final) == [1100, 7, 1120, 1123, 8]


def test_balance_after_of_a_single_grant_is_the_final_balance() -> None:
    assert sequence_balances([_grant("o1", "u", 5)], {"user:u": 5}) == [5]
    assert sequence_balances([], {}) == []


def test_spend_fingerprint_identifies_the_request_body() -> None:
    assert spend_fingerprint(30, "image") == spend_fingerprint(30, "image")
    assert spend_fingerprint(30, "image") != spend_fingerprint(31, "image")
    assert spend_fingerprint(30, "image") != spend_fingerprint(30, "video")
