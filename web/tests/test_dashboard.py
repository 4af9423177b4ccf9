"""The dashboard's figures, built from what the admin APIs answer."""

from __future__ import annotations

from typing import Any

from paystream.web import dashboard


def _payments(open_reviews: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "by_method": [],
        "by_day": [],
        "packages": [],
        "plans": [],
        "failure_reasons": [],
        "needs_review": {
            "amount_mismatch": [{"order_id": "o1"}],
            "usdt_transfers": [{"status": "unmatched", "transfers": 2}],
            "open_reviews": open_reviews,
        },
    }


def _refund(i: int) -> dict[str, Any]:
    return {
        "id": f"u{i}",
        "provider": "stripe",
        "provider_refund_id": f"re_{i}",
        "provider_payment_id": f"pi_{i}",
        "amount": {"value": "1.00", "currency": "USD"},
        "refunded_total": None,
        "reason": "no order holds the payment",
    }


KAFKA: dict[str, Any] = {"dead_letters": [], "groups": []}
REVENUE: dict[str, Any] = {"days": []}


def test_need_review_counts_every_list_an_operator_acts_on() -> None:
    reviews = [
        {"reason": "duplicate_payment", "blocking": False, "reviews": 3},
        {"reason": "amount_mismatch", "blocking": True, "reviews": 1},
    ]
    built = dashboard.build(_payments(reviews), REVENUE, KAFKA, {"items": [], "next_cursor": None})
    # One mismatched order, two USDT transfers, four open reviews.
    assert built["totals"]["needs_review"] == 7
    assert built["totals"]["unmatched_refunds"] == 0
    assert built["unmatched_refunds"] == []


def test_unmatched_refunds_are_counted_and_say_when_there_are_more() -> None:
    page = {"items": [_refund(1), _refund(2)], "next_cursor": "abc"}
    built = dashboard.build(_payments([]), REVENUE, KAFKA, page)
    assert built["totals"]["needs_review"] == 3
    assert built["totals"]["unmatched_refunds"] == 2
    assert built["totals"]["more_unmatched_refunds"] is True
    assert [u["provider_refund_id"] for u in built["unmatched_refunds"]] == ["re_1", "re_2"]
    last = dashboard.build(_payments([]), REVENUE, KAFKA, {"items": [], "next_cursor": None})
    assert last["totals"]["more_unmatched_refunds"] is False
