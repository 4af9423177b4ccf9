"""A provider's report of a refund becomes the refund's own amount, whatever order the reports
and checkout's own announcements arrive in (issue 15): every interleaving of two (and three)
partial Alipay refunds' notifications, which carry the cumulative refund_fee, and checkout's
announcements, which carry each refund's amount.

The model is what the services do with each message: checkout applies its own announcement to a
pending refund (`_ask_provider` / the reconciler) and judges a report with `judge_report`;
ledger and invoicing apply the first copy of each envelope id (their inboxes) and never see a
report (they do not consume `paystream.refund.reported.v1`).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from paystream.checkout.refunds.domain import (
    Refund,
    RefundState,
    ReportVerdict,
    judge_report,
)
from paystream.shared.money import Money

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def refund(rid: str, minor: int, status: RefundState = RefundState.PENDING) -> Refund:
    return Refund(
        id=rid,
        order_id="order-1",
        user_id="user-1",
        amount=Money(minor, "CNY"),
        reason="asked",
        status=status,
        provider="alipay",
        provider_refund_id=None,
        requested_by="admin",
        idempotency_key=rid,
        request_fingerprint=None,
        failure_reason=None,
        payout_reference=None,
        created_at=AT,
        updated_at=AT,
        succeeded_at=None,
    )


# (kind, refund id): "announce" is checkout's own (the provider's synchronous answer), "report"
# Alipay's notification with refund_fee = everything refunded on the trade up to that refund.
Message = tuple[str, str]


def run(amounts: dict[str, int], messages: tuple[Message, ...]) -> dict[str, int]:
    """What ledger and invoicing take back per refund after `messages`, in that order."""
    order = list(amounts)  # the order Alipay made the refunds in
    cumulative = {rid: sum(amounts[r] for r in order[: i + 1]) for i, rid in enumerate(order)}
    held = {rid: refund(rid, minor) for rid, minor in amounts.items()}
    applied: dict[str, int] = {}  # envelope id (one per refund) -> amount, first copy wins

    def publish(rid: str, minor: int) -> None:
        held[rid] = replace(held[rid], status=RefundState.SUCCEEDED)
        applied.setdefault(rid, minor)

    for kind, rid in messages:
        if kind == "announce":
            if held[rid].status is RefundState.PENDING:
                publish(rid, held[rid].amount.minor)
            continue
        decision = judge_report(held[rid], currency="CNY", own=None, total=cumulative[rid])
        assert decision.verdict is not ReportVerdict.UNMATCHED, decision
        if decision.verdict is ReportVerdict.APPLY:
            assert decision.amount is not None
            publish(rid, decision.amount.minor)
    return applied


def interleavings(amounts: dict[str, int]) -> list[tuple[Message, ...]]:
    messages = [(kind, rid) for rid in amounts for kind in ("announce", "report")]
    return list(itertools.permutations(messages))


def test_two_partial_refunds_take_back_exactly_their_own_amounts_in_every_order() -> None:
    amounts = {"r1": 2000, "r2": 3000}
    orders = interleavings(amounts)
    assert len(orders) == 24
    for messages in orders:
        assert run(amounts, messages) == amounts, messages


def test_three_partial_refunds_in_every_order() -> None:
    amounts = {"r1": 1000, "r2": 2500, "r3": 1}
    orders = interleavings(amounts)
    assert len(orders) == 720
    for messages in orders:
        assert run(amounts, messages) == amounts, messages


def test_reading_the_cumulative_fee_as_the_amount_over_counts() -> None:
    # What webhook-ingest published before: the report's refund_fee as the refund's amount,
    # under the id checkout's announcement uses. Some interleavings took back 50.00 for 30.00.
    amounts = {"r1": 2000, "r2": 3000}
    cumulative = {"r1": 2000, "r2": 5000}
    wrong = 0
    for messages in interleavings(amounts):
        applied: dict[str, int] = {}
        for kind, rid in messages:
            applied.setdefault(rid, amounts[rid] if kind == "announce" else cumulative[rid])
        wrong += applied != amounts
    assert wrong == 12  # the report of r2 first, in half of the orders


def test_a_report_of_a_refund_already_applied_changes_nothing() -> None:
    done = refund("r1", 2000, RefundState.SUCCEEDED)
    decision = judge_report(done, currency="CNY", own=None, total=5000)
    assert decision.verdict is ReportVerdict.APPLIED


def test_a_refund_that_failed_and_is_reported_is_applied_with_its_own_amount() -> None:
    # A refund marked failed on a definite refusal that the provider later reports made (the
    # domain's failed -> succeeded).
    failed = refund("r1", 2000, RefundState.FAILED)
    decision = judge_report(failed, currency="CNY", own=None, total=2000)
    assert (decision.verdict, decision.amount) == (ReportVerdict.APPLY, Money(2000, "CNY"))


def test_a_dashboard_refund_with_its_own_amount_is_applied() -> None:
    decision = judge_report(None, currency="USD", own=1234, total=None)
    assert (decision.verdict, decision.amount) == (ReportVerdict.APPLY, Money(1234, "USD"))


def test_a_dashboard_refund_known_only_by_the_cumulative_total_is_never_guessed() -> None:
    decision = judge_report(None, currency="CNY", own=None, total=5000)
    assert decision.verdict is ReportVerdict.UNMATCHED
    assert decision.amount is None
    assert decision.reason is not None
    assert "50.00 CNY" in decision.reason
    assert "own amount is not known" in decision.reason


@pytest.mark.parametrize(
    ("currency", "own", "total", "says"),
    [
        ("USD", None, 5000, "reported in USD, the refund is in CNY"),
        ("CNY", 2500, None, "the provider reports 25.00, paystream asked for 20.00"),
        ("CNY", None, 1999, "refunded total 19.99 is less than this refund's 20.00"),
    ],
)
def test_a_report_that_contradicts_our_refund_is_for_an_operator(
    currency: str, own: int | None, total: int | None, says: str
) -> None:
    decision = judge_report(refund("r1", 2000), currency=currency, own=own, total=total)
    assert decision.verdict is ReportVerdict.UNMATCHED
    assert decision.reason is not None
    assert says in decision.reason
