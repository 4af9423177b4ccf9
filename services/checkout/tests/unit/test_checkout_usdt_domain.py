"""USDT (TRC20) domain logic: amount allocation arithmetic, transfer parsing, matching,
classification."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from paystream.checkout.settings import CheckoutSettings
from paystream.checkout.usdt.domain import (
    Deposit,
    DepositState,
    MatchWindow,
    Transfer,
    TransferStatus,
    amount_modulus,
    choose_offset,
    classify,
    free_offsets,
    match_deposit,
    parse_transfers,
    residue,
)
from paystream.checkout.usdt.factory import usdt_config
from paystream.checkout.usdt.provider import UsdtProvider
from paystream.shared.money import Money

ADDRESS = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"
CONTRACT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


# ---- allocation arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_max", "modulus"), [(1, 10), (9, 10), (10, 100), (999, 1000), (1000, 10000)]
)
def test_modulus_is_the_decimal_span_of_the_offsets(offset_max: int, modulus: int) -> None:
    assert amount_modulus(offset_max) == modulus


def test_modulus_refuses_no_offsets() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        amount_modulus(0)


def test_free_offsets_skip_taken_residues_and_never_zero() -> None:
    price = 14_000_000
    taken = {residue(price + 5, 1000), residue(price + 7, 1000)}
    free = free_offsets(price, 999, taken)
    assert len(free) == 997
    assert 5 not in free
    assert 7 not in free
    assert min(free) == 1
    assert max(free) == 999


def test_free_offsets_give_distinct_residues_whatever_the_price_alignment() -> None:
    # A price that is not a multiple of the modulus (14.0005 USDT): residues wrap around, and an
    # open deposit of another price holding residue 501 excludes offset 1 here.
    price = 14_000_500
    free = free_offsets(price, 999, {501})
    assert 1 not in free
    residues = [(price + o) % 1000 for o in free]
    assert len(set(residues)) == len(residues) == 998
    assert 500 not in residues  # offset 0 (the bare price) is never handed out


def test_choose_offset_avoids_cooling_amounts_while_others_are_free() -> None:
    rng = random.Random(7)
    price = 7_000_000
    cooling = {residue(price + o, 10) for o in (1, 2, 3, 4, 5, 6, 7, 8)}
    for _ in range(20):
        assert choose_offset(price, 9, open_residues=set(), cooling_residues=cooling, rng=rng) == 9


def test_choose_offset_never_reuses_cooling_amounts() -> None:
    # A cooling amount was released less than the late window ago: a late transfer for it could
    # still arrive and would credit the new order's buyer (issue 10). With every free amount
    # cooling, no amount is handed out.
    price = 7_000_000
    everything = {residue(price + o, 10) for o in range(1, 10)}
    for _ in range(20):
        got = choose_offset(price, 9, open_residues={1, 2, 3}, cooling_residues=everything - {7})
        assert got is not None
        assert residue(price + got, 10) == 7
    assert choose_offset(price, 9, open_residues={1, 2, 3}, cooling_residues=everything) is None
    assert choose_offset(price, 9, open_residues=everything, cooling_residues=set()) is None


def test_choose_offset_is_spread_out() -> None:
    rng = random.Random(1)
    picks = {
        choose_offset(1_000_000, 999, open_residues=set(), cooling_residues=set(), rng=rng)
        for _ in range(50)
    }
    assert len(picks) > 40  # random, so concurrent allocations rarely collide


# ---- configuration --------------------------------------------------------------------------


def test_usdt_is_not_offered_without_a_deposit_address() -> None:
    assert usdt_config(CheckoutSettings()) is None


def test_usdt_config_from_settings() -> None:
    s = CheckoutSettings(
        usdt_deposit_address=ADDRESS,
        usdt_amount_offset_max=9999,
        usdt_late_window_s=60,
    )
    cfg = usdt_config(s)
    assert cfg is not None
    assert cfg.deposit_address == ADDRESS
    assert cfg.contract_address == CONTRACT
    assert cfg.modulus == 10_000
    assert cfg.late_window == timedelta(seconds=60)


def test_provider_takes_only_usdt() -> None:
    cfg = usdt_config(CheckoutSettings(usdt_deposit_address=ADDRESS))
    assert cfg is not None
    provider = UsdtProvider(pool=None, config=cfg)  # type: ignore[arg-type]
    assert provider.name == "usdt_trc20"
    assert provider.methods_for("usdt") == ("usdt_trc20",)
    assert provider.methods_for("USD") == ()


# ---- parsing TronGrid rows ------------------------------------------------------------------


def _row(txid: str, value: int, *, ts: int = 1_700_000_000_000, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "transaction_id": txid,
        "token_info": {"symbol": "USDT", "address": CONTRACT, "decimals": 6, "name": "Tether USD"},
        "block_timestamp": ts,
        "from": "TFrom1111111111111111111111111111",
        "to": ADDRESS,
        "type": "Transfer",
        "value": str(value),
    }
    row.update(over)
    return row


def test_parse_keeps_only_usdt_transfers_to_the_address() -> None:
    rows = [
        _row("a" * 64, 1),
        _row("b" * 64, 2, to="TSomeoneElse111111111111111111111"),
        _row("c" * 64, 3, type="Approval"),
        _row("d" * 64, 4, token_info={"address": "TFakeUSDT", "decimals": 6}),
        _row("e" * 64, 5, token_info={"address": CONTRACT, "decimals": 18}),
        _row("f" * 64, "not a number"),
        _row("0" * 64, 6),
    ]
    got = parse_transfers(rows, address=ADDRESS, contract_address=CONTRACT)
    assert [(t.transaction_id[0], t.amount_minor) for t in got] == [("0", 6), ("a", 1)]


def test_event_indexes_are_stable_whatever_the_row_order() -> None:
    rows = [
        _row("t" * 64, 30, **{"from": "TB"}),
        _row("t" * 64, 10, **{"from": "TA"}),
        _row("t" * 64, 20, **{"from": "TA"}),
        _row("u" * 64, 5, ts=1_600_000_000_000),
    ]
    first = parse_transfers(rows, address=ADDRESS, contract_address=CONTRACT)
    again = parse_transfers(rows[::-1], address=ADDRESS, contract_address=CONTRACT)
    key = [(t.transaction_id, t.event_index, t.from_address, t.amount_minor) for t in first]
    assert key == [(t.transaction_id, t.event_index, t.from_address, t.amount_minor) for t in again]
    assert key == [
        ("u" * 64, 0, "TFrom1111111111111111111111111111", 5),  # older block first
        ("t" * 64, 0, "TA", 10),
        ("t" * 64, 1, "TA", 20),
        ("t" * 64, 2, "TB", 30),
    ]


def test_payment_id_is_the_txid_and_suffixed_for_a_second_event() -> None:
    rows = [_row("t" * 64, 10), _row("t" * 64, 20)]
    a, b = parse_transfers(rows, address=ADDRESS, contract_address=CONTRACT)
    assert a.payment_id == "t" * 64
    assert b.payment_id == "t" * 64 + ":1"
    assert a.block_time == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_transfer_block_time_keeps_milliseconds() -> None:
    t = Transfer("x", 0, "f", ADDRESS, CONTRACT, 1, 1_700_000_000_123, {})
    assert t.block_time.microsecond == 123_000


# ---- matching -------------------------------------------------------------------------------

LATE = timedelta(days=7)


def _deposit(
    amount_minor: int,
    *,
    created: datetime = T0 - timedelta(minutes=5),
    released: datetime | None = None,
    modulus: int = 1000,
    n: int = 1,
) -> Deposit:
    price = amount_minor - amount_minor % modulus or modulus
    return Deposit(
        id=f"00000000-0000-0000-0000-{n:012d}",
        order_id=f"10000000-0000-0000-0000-{n:012d}",
        user_id="u1",
        package_id="standard",
        credits=100,
        address=ADDRESS,
        price=Money(price, "USDT"),
        amount=Money(amount_minor, "USDT"),
        offset_minor=amount_minor - price,
        residue=residue(amount_minor, modulus),
        modulus=modulus,
        expires_at=created + timedelta(minutes=31),
        status="open" if released is None else "closed",
        released_at=released,
        created_at=created,
    )


def _match(amount_minor: int, *candidates: Deposit) -> Deposit | None:
    return match_deposit(amount_minor, candidates, MatchWindow.of(T0, LATE), modulus=1000)


def test_the_exact_amount_wins_over_a_newer_deposit_with_the_same_residue() -> None:
    exact = _deposit(14_000_123, created=T0 - timedelta(hours=1), n=1)
    same_residue = _deposit(13_000_123, created=T0 - timedelta(minutes=1), n=2)
    assert _match(14_000_123, same_residue, exact) == exact


def test_the_newest_deposit_of_the_amount_wins() -> None:
    older = _deposit(14_000_123, created=T0 - timedelta(days=2), released=T0 - timedelta(days=1))
    newer = _deposit(14_000_123, created=T0 - timedelta(minutes=3), n=2)
    assert _match(14_000_123, older, newer) == newer
    assert _match(14_000_123, newer, older) == newer


def test_the_residue_names_the_order_when_the_amount_lost_a_fee() -> None:
    deposit = _deposit(14_000_123)
    assert _match(13_000_123, deposit) == deposit


def test_a_residue_of_another_modulus_does_not_match() -> None:
    other = _deposit(14_000_123, modulus=10_000)
    assert _match(13_000_123, other) is None


def test_a_deposit_asked_after_the_transfer_was_sent_does_not_match() -> None:
    within_skew = _deposit(14_000_123, created=T0 + timedelta(seconds=59))
    after = _deposit(14_000_123, created=T0 + timedelta(seconds=61))
    assert _match(14_000_123, within_skew) == within_skew
    assert _match(14_000_123, after) is None


def test_a_deposit_released_long_before_the_transfer_does_not_match() -> None:
    created = T0 - timedelta(days=30)
    recent = _deposit(14_000_123, created=created, released=T0 - LATE + timedelta(seconds=1))
    old = _deposit(14_000_123, created=created, released=T0 - LATE)
    still_open = _deposit(14_000_123, created=created)
    assert _match(14_000_123, recent) == recent
    assert _match(14_000_123, old) is None
    assert _match(14_000_123, still_open) == still_open


def test_no_candidate_no_match() -> None:
    assert _match(14_000_123) is None


# ---- classification -------------------------------------------------------------------------

PRICE_AMOUNT = 14_000_123


def _open(expires: datetime = T0 + timedelta(minutes=30)) -> DepositState:
    return DepositState(PRICE_AMOUNT, "open", expires, None)


def test_exact_amount_in_time_is_matched_and_credited() -> None:
    v = classify(PRICE_AMOUNT, T0, _open())
    assert (v.status, v.credited, v.note) == (TransferStatus.MATCHED, True, None)


def test_no_deposit_is_unmatched() -> None:
    v = classify(PRICE_AMOUNT, T0, None)
    assert (v.status, v.credited) == (TransferStatus.UNMATCHED, False)


def test_less_is_underpaid_and_not_credited() -> None:
    v = classify(13_000_123, T0, _open())
    assert (v.status, v.credited) == (TransferStatus.UNDERPAID, False)
    assert v.note is not None
    assert "1.000000" in v.note


def test_more_is_overpaid_credited_and_flagged() -> None:
    v = classify(15_000_123, T0, _open())
    assert (v.status, v.credited) == (TransferStatus.OVERPAID, True)
    assert v.note is not None
    assert "1.000000" in v.note


def test_overpaid_can_be_left_to_the_operator() -> None:
    v = classify(15_000_123, T0, _open(), credit_overpaid=False)
    assert (v.status, v.credited) == (TransferStatus.OVERPAID, False)


def test_after_expiry_is_late_and_credited() -> None:
    v = classify(PRICE_AMOUNT, T0, _open(expires=T0 - timedelta(seconds=1)))
    assert (v.status, v.credited) == (TransferStatus.LATE, True)


def test_after_cancellation_is_late_and_credited() -> None:
    closed = DepositState(PRICE_AMOUNT, "closed", T0 + timedelta(hours=1), T0 - timedelta(hours=1))
    v = classify(PRICE_AMOUNT, T0, closed)
    assert (v.status, v.credited) == (TransferStatus.LATE, True)


def test_sent_before_the_cancellation_is_matched() -> None:
    closed = DepositState(
        PRICE_AMOUNT, "closed", T0 + timedelta(hours=1), T0 + timedelta(minutes=1)
    )
    v = classify(PRICE_AMOUNT, T0, closed)
    assert (v.status, v.credited) == (TransferStatus.MATCHED, True)


def test_late_and_overpaid_is_late_with_the_excess_noted() -> None:
    v = classify(PRICE_AMOUNT + 5, T0, _open(expires=T0 - timedelta(minutes=1)))
    assert (v.status, v.credited) == (TransferStatus.LATE, True)
    assert v.note is not None
    assert "overpaid by 0.000005" in v.note


def test_late_and_underpaid_is_underpaid() -> None:
    v = classify(PRICE_AMOUNT - 1, T0, _open(expires=T0 - timedelta(minutes=1)))
    assert (v.status, v.credited) == (TransferStatus.UNDERPAID, False)
    assert v.note is not None
    assert "expired" in v.note


def test_a_second_payment_for_a_paid_deposit_is_a_duplicate() -> None:
    paid = DepositState(PRICE_AMOUNT, "paid", T0 + timedelta(hours=1), T0 - timedelta(minutes=1))
    v = classify(PRICE_AMOUNT, T0, paid)
    assert (v.status, v.credited) == (TransferStatus.DUPLICATE, False)
